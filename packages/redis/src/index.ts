export {
  redisStore,
  type RedisCommands,
  type RedisConnection,
  type RedisStoreOptions,
} from './redis-store.js'
