import {
  revocationKey,
  type ElevationGrant,
  type KillSwitch,
  type Revocation,
  type StoreChange,
  type StoreSnapshot,
} from './types.js'

/**
 * Builds an immutable snapshot from state records. Stores rebuild it on every change (rare),
 * so that the request path only reads maps.
 */
export function buildSnapshot(
  revocations: Iterable<Revocation>,
  grants: Iterable<ElevationGrant>,
  killSwitch: KillSwitch | undefined,
  unavailable = false,
): StoreSnapshot {
  const revoked = new Map(
    [...revocations].map((r): [string, Revocation] => [revocationKey(r.kind, r.value), r]),
  )
  const granted = new Map([...grants].map((g): [string, ElevationGrant] => [g.id, g]))
  const kill = killSwitch?.on === true ? killSwitch : undefined
  return Object.freeze({
    empty: revoked.size === 0 && granted.size === 0 && kill === undefined && !unavailable,
    unavailable,
    killSwitch: kill,
    revocations: revoked,
    grants: granted,
  })
}

/** Applies a change to mutable state records (what both stores keep). */
export function applyChange(
  state: {
    revocations: Map<string, Revocation>
    grants: Map<string, ElevationGrant>
    killSwitch: KillSwitch | undefined
  },
  change: StoreChange,
): void {
  switch (change.op) {
    case 'revoke':
      state.revocations.set(
        revocationKey(change.revocation.kind, change.revocation.value),
        change.revocation,
      )
      break
    case 'unrevoke':
      state.revocations.delete(revocationKey(change.kind, change.value))
      break
    case 'kill_switch':
      state.killSwitch = change.killSwitch
      break
    case 'grant':
      state.grants.set(change.grant.id, change.grant)
      break
    case 'ungrant':
      state.grants.delete(change.id)
      break
  }
}
