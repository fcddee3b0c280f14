export { runDrill, type DrillInstance, type DrillReport } from './drill.js'
export {
  changeKey,
  drillChannels,
  redisStore,
  type RedisCommands,
  type RedisConnection,
  type RedisStoreOptions,
} from './redis-store.js'
