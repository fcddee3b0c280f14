import { createClient } from 'redis'
import { changeKey, drillChannels, redisStore, type RedisConnection } from './redis-store.js'
import type { StoreChange } from '@scopeguard/core'

/** One live instance in a drill, and how long it took to enforce the canary's revocation. */
export interface DrillInstance {
  readonly instance: string
  readonly name: string
  /** Milliseconds from the revocation to this instance's acknowledgement; undefined if it never came. */
  readonly enforcedAfter: number | undefined
}

/** What a breach drill measured. */
export interface DrillReport {
  readonly clientId: string
  readonly instances: readonly DrillInstance[]
  /** Whether the canary was restored (unrevoked) at the end. */
  readonly restored: boolean
}

/**
 * A breach drill: finds the live instances (they heartbeat through Redis), revokes a
 * designated canary client, waits until every live instance acknowledges that it enforces
 * the revocation, and restores the canary. SREs practise cutting access and see the real
 * propagation time per instance.
 *
 * @example
 * const report = await runDrill({ url: 'redis://127.0.0.1:6379', clientId: 'canary' })
 * for (const i of report.instances) console.log(i.name, i.enforcedAfter)
 */
export async function runDrill(options: {
  url?: string
  prefix?: string
  clientId: string
  /** Milliseconds to listen for heartbeats before revoking. Default 2,500. */
  discover?: number
  /** Milliseconds to wait for every acknowledgement. Default 5,000. */
  timeout?: number
}): Promise<DrillReport> {
  const prefix = options.prefix ?? 'scopeguard:'
  const channels = drillChannels(prefix)
  const listener = createClient({
    url: options.url ?? 'redis://127.0.0.1:6379',
  }) as unknown as RedisConnection
  const live = new Map<string, string>()
  const acked = new Map<string, number>()
  let expected: string | undefined
  let started = 0
  await listener.connect()
  try {
    await listener.subscribe(channels.heartbeats, (message) => {
      const { instance, name } = JSON.parse(message) as { instance: string; name: string }
      live.set(instance, name)
    })
    await listener.subscribe(channels.acks, (message) => {
      const { instance, change } = JSON.parse(message) as { instance: string; change: string }
      if (change === expected && !acked.has(instance))
        acked.set(instance, performance.now() - started)
    })
    await new Promise((resolve) => setTimeout(resolve, options.discover ?? 2500))
    const store = redisStore({ url: options.url, prefix, heartbeatInterval: 3_600_000 })
    try {
      const now = Date.now()
      const change: StoreChange = {
        op: 'revoke',
        revocation: {
          kind: 'clientId',
          value: options.clientId,
          reason: 'breach drill (canary)',
          until: now + 60_000,
          at: now,
        },
      }
      expected = changeKey(change)
      started = performance.now()
      await store.apply(change)
      const deadline = performance.now() + (options.timeout ?? 5000)
      while ([...live.keys()].some((id) => !acked.has(id)) && performance.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      await store.apply({ op: 'unrevoke', kind: 'clientId', value: options.clientId })
      return {
        clientId: options.clientId,
        restored: true,
        instances: [...live].map(([instance, name]) => ({
          instance,
          name,
          enforcedAfter: acked.get(instance),
        })),
      }
    } finally {
      await store.close()
    }
  } finally {
    await (listener.close?.() ?? listener.quit?.())?.catch(() => undefined)
  }
}
