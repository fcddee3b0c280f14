import createDebug from 'debug'
import { ScopeguardConfigError } from '../errors.js'
import type { ScopeguardEvent } from '../events.js'
import { dormantEvent } from './lifecycle-event.js'
import { revocationChange } from './lifecycle.js'
import type { Store } from './types.js'

const debug = createDebug('scopeguard:lifecycle')

/** What the dormant-client watch needs from its guard. */
export interface DormantWatchSettings {
  /** Seconds without being seen by any instance (the `dormantAfter` option); undefined: off. */
  readonly after: number | undefined
  /** Also revoke a dormant client (`revokeDormant`). */
  readonly revoke: boolean
  /** Seconds such a revocation lasts. */
  readonly revocationTtl: number
  readonly store: Store
  readonly clock: () => number
  /** Clients the policy names (baselines), watched even if never seen. */
  readonly knownClients: () => Iterable<string>
  readonly emit: (event: ScopeguardEvent) => void
}

/**
 * Reports (and, if asked, revokes) clients that no instance sharing the store has seen for
 * `after` seconds: a `lifecycle` event with `action: 'dormant'` once per dormant spell, on a
 * timer that never keeps the process alive.
 *
 * @example
 * const dormant = watchDormant({ after: 86_400, revoke: false, revocationTtl, store, clock, knownClients, emit })
 * dormant.clients() // clients reported dormant and not seen since
 */
export function watchDormant(settings: DormantWatchSettings): {
  clients: () => string[]
  stop: () => void
} {
  const { after, store, clock } = settings
  if (after === undefined) return { clients: () => [], stop: () => undefined }
  if (typeof after !== 'number' || !(after > 0))
    throw new ScopeguardConfigError('dormantAfter must be a positive number of seconds')
  const startedAt = clock()
  const reported = new Map<string, number>() // client → last seen when reported
  const check = async (): Promise<void> => {
    const seen = (await store.lastSeen?.()) ?? new Map<string, number>()
    const now = clock()
    const known = new Set([...settings.knownClients(), ...seen.keys()])
    for (const clientId of known) {
      const last = seen.get(clientId) ?? startedAt
      if (reported.has(clientId) && reported.get(clientId) !== last) reported.delete(clientId) // seen again
      if (now - last <= after * 1000 || reported.has(clientId)) continue
      reported.set(clientId, last)
      const reason = `not seen for more than ${after} s`
      settings.emit(dormantEvent(clientId, reason, now))
      if (settings.revoke)
        await store.apply(
          revocationChange({ clientId, reason: `dormant: ${reason}` }, now, settings.revocationTtl),
        )
    }
  }
  const timer = setInterval(
    () => void check().catch((error: unknown) => debug('dormant check failed: %O', error)),
    Math.min(after * 500, 60_000),
  )
  timer.unref()
  return { clients: () => [...reported.keys()], stop: () => clearInterval(timer) }
}
