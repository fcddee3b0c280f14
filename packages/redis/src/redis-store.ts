import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import createDebug from 'debug'
import { createClient } from 'redis'
import {
  addUsage,
  applyChange,
  buildSnapshot,
  revocationKey,
  type ElevationGrant,
  type KillSwitch,
  type Revocation,
  type Store,
  type StoreChange,
  type StoreSnapshot,
  type StoreStatus,
  type UsageKind,
} from '@scopeguard/core'

const debug = createDebug('scopeguard:redis')

/** The Redis commands the store uses; a node-redis client or cluster provides them. */
export interface RedisCommands {
  set(
    key: string,
    value: string,
    options?: { expiration?: { type: 'PX'; value: number } },
  ): Promise<unknown>
  get(key: string): Promise<string | null>
  del(key: string | string[]): Promise<number>
  mGet(keys: string[]): Promise<(string | null)[]>
  publish(channel: string, message: string): Promise<number>
  scanIterator(options: { MATCH: string; COUNT?: number }): AsyncIterable<string[]>
  sendCommand(args: string[]): Promise<unknown>
}

/** A node-redis client (or cluster) as the store drives it. */
export interface RedisConnection extends RedisCommands {
  readonly isReady: boolean
  connect(): Promise<unknown>
  duplicate(): RedisConnection
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>
  on(event: 'error' | 'ready' | 'end', listener: (error?: unknown) => void): unknown
  close?(): Promise<unknown>
  quit?(): Promise<unknown>
}

/** Options of {@link redisStore}. */
export interface RedisStoreOptions {
  /** `redis://…` or `rediss://…` (TLS). Ignored when `client` is given. */
  readonly url?: string
  /**
   * A node-redis client or cluster (`createClient()` / `createCluster()`), not yet connected.
   * The store connects it and a duplicate for pub/sub.
   */
  readonly client?: RedisConnection
  /** Prefix of every key and of the channel. Default `scopeguard:`. */
  readonly prefix?: string
  /** Milliseconds between full resyncs from Redis (besides pub/sub). Default 30,000. */
  readonly resyncInterval?: number
  /**
   * While Redis is unreachable, refuse every request (503) instead of serving with the last
   * known state. Default false.
   */
  readonly failClosed?: boolean
  /** Milliseconds between writes of "client last seen" times to Redis. Default 5,000. */
  readonly seenFlushInterval?: number
  /** How this instance names itself in heartbeats (drills list it). Default `hostname:pid`. */
  readonly name?: string
  /** Milliseconds between heartbeats on `<prefix>heartbeats`. Default 1,000. */
  readonly heartbeatInterval?: number
  readonly clock?: () => number
}

/** The channels a store publishes on, besides `<prefix>changes`. */
export function drillChannels(prefix: string): {
  heartbeats: string
  acks: string
  changes: string
} {
  return { heartbeats: `${prefix}heartbeats`, acks: `${prefix}acks`, changes: `${prefix}changes` }
}

/** A short, stable description of a change, as acknowledgements name it. */
export function changeKey(change: StoreChange): string {
  switch (change.op) {
    case 'revoke':
      return `revoke:${revocationKey(change.revocation.kind, change.revocation.value)}:${change.revocation.at}`
    case 'unrevoke':
      return `unrevoke:${revocationKey(change.kind, change.value)}`
    case 'kill_switch':
      return `kill_switch:${String(change.killSwitch.on)}:${change.killSwitch.at}`
    case 'grant':
      return `grant:${change.grant.id}`
    case 'ungrant':
      return `ungrant:${change.id}`
  }
}

/**
 * A Store shared by every instance through Redis. Reads stay local: each instance keeps a
 * copy of revocations, the kill switch and elevation grants, so the request path never waits
 * for Redis. Writes go to Redis (revocations and grants as keys with a TTL, so they lapse by
 * themselves) and are published on a channel that every instance subscribes to; a periodic
 * full resync (and one after every reconnect) repairs anything a message missed. When Redis
 * is unreachable the instance keeps enforcing the last known state (or, with `failClosed`,
 * refuses every request), reports it as a `store` event, and reconnects with backoff.
 * DPoP proof `jti`s are claimed with `SET NX PX` so a replay to another instance is refused;
 * while Redis is unreachable, DPoP requests get 503 (their replay could not be detected).
 *
 * @example
 * const guard = scopeguard({ issuer, audience, store: redisStore({ url: 'redis://127.0.0.1:6379' }) })
 */
export function redisStore(options: RedisStoreOptions = {}): Store {
  const prefix = options.prefix ?? 'scopeguard:'
  const { changes: channel, heartbeats, acks } = drillChannels(prefix)
  const name = options.name ?? `${hostname()}:${process.pid}`
  const clock = options.clock ?? Date.now
  const instance = randomUUID()
  const client =
    options.client ??
    (createClient({
      url: options.url ?? 'redis://127.0.0.1:6379',
      socket: { reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2000) },
    }) as unknown as RedisConnection)
  const subscriber = client.duplicate()
  const state = {
    revocations: new Map<string, Revocation>(),
    grants: new Map<string, ElevationGrant>(),
    killSwitch: undefined as KillSwitch | undefined,
  }
  let available = false
  let synced = false
  let closed = false
  const failClosed = options.failClosed === true
  const listeners = new Set<(change: StoreChange, origin: 'local' | 'remote') => void>()
  const statusListeners = new Set<(status: StoreStatus) => void>()
  const timers = new Map<string, NodeJS.Timeout>()
  let snapshot: StoreSnapshot = buildSnapshot([], [], undefined, failClosed)

  const rebuild = (): void => {
    snapshot = buildSnapshot(
      state.revocations.values(),
      state.grants.values(),
      state.killSwitch,
      failClosed && (!available || !synced),
    )
  }
  const status = (next: StoreStatus): void => {
    for (const listener of statusListeners) listener(next)
  }
  const scheduleExpiry = (grant: ElevationGrant): void => {
    clearTimeout(timers.get(grant.id))
    const timer = setTimeout(
      () => {
        timers.delete(grant.id)
        if (state.grants.delete(grant.id)) {
          rebuild()
          for (const listener of listeners)
            listener({ op: 'ungrant', id: grant.id, expired: true }, 'local')
        }
      },
      Math.max(0, grant.expiresAt - clock()),
    )
    timer.unref()
    timers.set(grant.id, timer)
  }
  const applyLocal = (change: StoreChange, origin: 'local' | 'remote'): void => {
    applyChange(state, change)
    if (change.op === 'grant') scheduleExpiry(change.grant)
    if (change.op === 'ungrant') clearTimeout(timers.get(change.id))
    rebuild()
    for (const listener of listeners) listener(change, origin)
    // Tells drills that this instance now enforces the change.
    if (available) {
      client
        .publish(acks, JSON.stringify({ instance, name, change: changeKey(change) }))
        .catch(() => undefined)
    }
  }

  const resync = async (): Promise<void> => {
    const revocations = new Map<string, Revocation>()
    const grants = new Map<string, ElevationGrant>()
    const read = async (pattern: string): Promise<string[]> => {
      const values: string[] = []
      for await (const keys of client.scanIterator({ MATCH: pattern, COUNT: 500 })) {
        if (keys.length > 0)
          for (const value of await client.mGet(keys)) if (value !== null) values.push(value)
      }
      return values
    }
    for (const value of await read(`${prefix}rev:*`)) {
      const revocation = JSON.parse(value) as Revocation
      revocations.set(revocationKey(revocation.kind, revocation.value), revocation)
    }
    for (const value of await read(`${prefix}grant:*`)) {
      const grant = JSON.parse(value) as ElevationGrant
      grants.set(grant.id, grant)
    }
    const kill = await client.get(`${prefix}kill`)
    state.revocations = revocations
    state.grants = grants
    state.killSwitch = kill === null ? undefined : (JSON.parse(kill) as KillSwitch)
    for (const grant of grants.values()) scheduleExpiry(grant)
    synced = true
    rebuild()
    status({ state: 'resynced' })
    debug(
      'resynced: %d revocations, %d grants, kill switch %s',
      revocations.size,
      grants.size,
      state.killSwitch?.on === true ? 'on' : 'off',
    )
  }
  const resyncSafely = (): void => {
    if (closed) return
    resync().catch((error: unknown) => debug('resync failed: %O', error))
  }

  const onError = (error: unknown): void => {
    if (available) {
      available = false
      rebuild()
      status({
        state: 'unavailable',
        error: error instanceof Error ? error.message : String(error),
        failClosed,
      })
    }
    debug('redis error: %O', error)
  }
  client.on('error', onError)
  subscriber.on('error', onError)
  client.on('ready', () => {
    const wasDown = !available
    available = true
    rebuild()
    if (wasDown) status({ state: 'available' })
    resyncSafely() // after every (re)connect: catch up on what pub/sub missed
  })
  const ready = Promise.all([
    client.connect(),
    subscriber.connect().then(() =>
      subscriber.subscribe(channel, (message) => {
        try {
          const { from, change } = JSON.parse(message) as { from: string; change: StoreChange }
          if (from !== instance) applyLocal(change, 'remote')
        } catch (error) {
          debug('ignored a malformed message: %O', error)
        }
      }),
    ),
  ]).catch((error: unknown) => {
    onError(error)
    debug('could not connect to Redis at start-up (still serving, retrying): %O', error)
  })
  const interval = setInterval(resyncSafely, options.resyncInterval ?? 30_000)
  interval.unref()
  // Last-seen times are batched: the request path only sets a map entry.
  const seen = new Map<string, number>()
  // Usage counts likewise: summed locally, added to one hash per client on each flush.
  const counts = new Map<string, Record<UsageKind, Record<string, number>>>()
  const flushSeen = async (): Promise<void> => {
    if (!available) return
    if (seen.size > 0) {
      const batch = [...seen]
      seen.clear()
      await client.sendCommand([
        'ZADD',
        `${prefix}seen`,
        'GT',
        ...batch.flatMap(([id, at]) => [String(at), id]),
      ])
    }
    const pending = [...counts]
    counts.clear()
    for (const [clientId, kinds] of pending) {
      for (const [kind, keys] of Object.entries(kinds)) {
        for (const [key, count] of Object.entries(keys)) {
          await client.sendCommand([
            'HINCRBY',
            `${prefix}usage:${clientId}`,
            `${kind}:${key}`,
            String(count),
          ])
        }
      }
    }
  }
  const seenTimer = setInterval(
    () => void flushSeen().catch((error: unknown) => debug('last-seen flush failed: %O', error)),
    options.seenFlushInterval ?? 5000,
  )
  seenTimer.unref()
  const heartbeat = setInterval(() => {
    if (available)
      client.publish(heartbeats, JSON.stringify({ instance, name })).catch(() => undefined)
  }, options.heartbeatInterval ?? 1000)
  heartbeat.unref()

  const write = async (change: StoreChange): Promise<void> => {
    const now = clock()
    switch (change.op) {
      case 'revoke': {
        const { kind, value, until } = change.revocation
        await client.set(
          `${prefix}rev:${revocationKey(kind, value)}`,
          JSON.stringify(change.revocation),
          {
            expiration: { type: 'PX', value: Math.max(1, until - now) },
          },
        )
        break
      }
      case 'unrevoke':
        await client.del(`${prefix}rev:${revocationKey(change.kind, change.value)}`)
        break
      case 'kill_switch':
        if (change.killSwitch.on)
          await client.set(`${prefix}kill`, JSON.stringify(change.killSwitch))
        else await client.del(`${prefix}kill`)
        break
      case 'grant':
        await client.set(`${prefix}grant:${change.grant.id}`, JSON.stringify(change.grant), {
          expiration: { type: 'PX', value: Math.max(1, change.grant.expiresAt - now) },
        })
        break
      case 'ungrant':
        await client.del(`${prefix}grant:${change.id}`)
        break
    }
    await client.publish(channel, JSON.stringify({ from: instance, change }))
  }

  return {
    snapshot: () => snapshot,
    async apply(change) {
      await ready
      await write(change) // Redis first: a change that cannot be shared is refused, not half-applied
      applyLocal(change, 'local')
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    countUsage(clientId, kind, key) {
      addUsage(counts, clientId, kind, key)
    },
    async usage() {
      await flushSeen()
      const result = new Map<string, Record<UsageKind, Record<string, number>>>()
      for await (const keys of client.scanIterator({ MATCH: `${prefix}usage:*`, COUNT: 500 })) {
        for (const key of keys) {
          const flat = (await client.sendCommand(['HGETALL', key])) as string[]
          const clientId = key.slice(`${prefix}usage:`.length)
          for (let i = 0; i + 1 < flat.length; i += 2) {
            const field = flat[i] as string
            const colon = field.indexOf(':')
            addUsage(
              result,
              clientId,
              field.slice(0, colon) as UsageKind,
              field.slice(colon + 1),
              Number(flat[i + 1]),
            )
          }
        }
      }
      return result
    },
    touch(clientId, at) {
      if ((seen.get(clientId) ?? 0) < at) seen.set(clientId, at)
    },
    async lastSeen() {
      await flushSeen()
      const flat = (await client.sendCommand([
        'ZRANGE',
        `${prefix}seen`,
        '0',
        '-1',
        'WITHSCORES',
      ])) as string[]
      const result = new Map<string, number>()
      for (let i = 0; i + 1 < flat.length; i += 2)
        result.set(flat[i] as string, Number(flat[i + 1]))
      return result
    },
    async claimOnce(key, ttlMs) {
      // Never queued while Redis is away: a proof whose replay no instance could see is refused
      // (the guard answers 503), whatever `failClosed` says for the rest of the state.
      if (!available) throw new Error('Redis is unavailable: cannot record the DPoP proof')
      const reply = await client.sendCommand([
        'SET',
        `${prefix}once:${key}`,
        '1',
        'NX',
        'PX',
        String(Math.max(1, Math.ceil(ttlMs))),
      ])
      return reply !== null
    },
    onStatus(listener) {
      statusListeners.add(listener)
      return () => statusListeners.delete(listener)
    },
    async close() {
      closed = true
      clearInterval(interval)
      clearInterval(heartbeat)
      clearInterval(seenTimer)
      await flushSeen().catch(() => undefined)
      for (const timer of timers.values()) clearTimeout(timer)
      await ready
      for (const connection of [subscriber, client]) {
        await (connection.close?.() ?? connection.quit?.())?.catch(() => undefined)
      }
    },
  }
}
