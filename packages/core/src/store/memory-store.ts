import { createReplayCache } from '../dpop/replay-cache.js'
import { applyChange, buildSnapshot } from './snapshot.js'
import {
  addUsage,
  type ElevationGrant,
  type KillSwitch,
  type Revocation,
  type Store,
  type StoreChange,
  type StoreSnapshot,
  type UsageKind,
} from './types.js'

/**
 * The default store: state in this process only. Revocations and grants lapse by
 * themselves at their `until` / `expiresAt` (a grant's expiry is announced as an `ungrant`
 * change, which the guard reports as an `elevation_expired` event).
 *
 * DPoP proof `jti`s (`claimOnce`) are kept for their window, at most `replayEntries` at once
 * (default 100,000); beyond that, DPoP requests get 503 until entries expire.
 *
 * @example
 * const guard = scopeguard({ issuer, audience, store: memoryStore() })
 */
export function memoryStore(options: { clock?: () => number; replayEntries?: number } = {}): Store {
  const clock = options.clock ?? Date.now
  const replays = createReplayCache(options.replayEntries ?? 100_000, clock)
  const state = {
    revocations: new Map<string, Revocation>(),
    grants: new Map<string, ElevationGrant>(),
    killSwitch: undefined as KillSwitch | undefined,
  }
  let snapshot: StoreSnapshot = buildSnapshot([], [], undefined)
  const listeners = new Set<(change: StoreChange, origin: 'local' | 'remote') => void>()
  const timers = new Map<string, NodeJS.Timeout>()
  const seen = new Map<string, number>()
  const usage = new Map<string, Record<UsageKind, Record<string, number>>>()

  const commit = (change: StoreChange): void => {
    applyChange(state, change)
    snapshot = buildSnapshot(state.revocations.values(), state.grants.values(), state.killSwitch)
    for (const listener of listeners) listener(change, 'local')
  }
  const expireLater = (key: string, at: number, change: StoreChange): void => {
    clearTimeout(timers.get(key))
    const timer = setTimeout(
      () => {
        timers.delete(key)
        commit(change)
      },
      Math.max(0, at - clock()),
    )
    timer.unref()
    timers.set(key, timer)
  }

  return {
    snapshot: () => snapshot,
    apply(change) {
      commit(change)
      if (change.op === 'grant') {
        expireLater(`grant:${change.grant.id}`, change.grant.expiresAt, {
          op: 'ungrant',
          id: change.grant.id,
          expired: true,
        })
      } else if (change.op === 'ungrant') {
        clearTimeout(timers.get(`grant:${change.id}`))
      } else if (change.op === 'revoke') {
        const { kind, value, until } = change.revocation
        expireLater(`rev:${kind}:${value}`, until, { op: 'unrevoke', kind, value })
      }
      return Promise.resolve()
    },
    countUsage(clientId, kind, key) {
      addUsage(usage, clientId, kind, key)
    },
    usage: () => Promise.resolve(new Map(usage)),
    touch(clientId, at) {
      seen.set(clientId, at)
    },
    lastSeen: () => Promise.resolve(new Map(seen)),
    claimOnce: (key, ttlMs) => replays.claimOnce(key, ttlMs),
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    close() {
      for (const timer of timers.values()) clearTimeout(timer)
      timers.clear()
      replays.clear()
      return Promise.resolve()
    },
  }
}
