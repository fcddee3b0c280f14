import type { LifecycleEvent, StoreEvent } from '../events.js'
import { revocationKey, type StoreChange, type StoreStatus } from './types.js'

function baseEvent(origin: 'local' | 'remote', now: number) {
  return {
    type: 'lifecycle' as const,
    v: 1 as const,
    time: new Date(now).toISOString(),
    origin,
    target: undefined,
    scopes: undefined,
    reason: undefined,
    approvedBy: undefined,
    until: undefined,
    except: undefined,
  }
}

/** The audit event of a client no instance has seen for `dormantAfter`. */
export function dormantEvent(clientId: string, reason: string, now: number): LifecycleEvent {
  return {
    ...baseEvent('local', now),
    action: 'dormant',
    target: revocationKey('clientId', clientId),
    reason,
  }
}

/** The audit event of a store change, applied here (`local`) or arriving from another instance. */
export function lifecycleEvent(
  change: StoreChange,
  origin: 'local' | 'remote',
  now: number,
): LifecycleEvent {
  const base = baseEvent(origin, now)
  switch (change.op) {
    case 'revoke': {
      const { kind, value, reason, until } = change.revocation
      return {
        ...base,
        action: 'revoked',
        target: revocationKey(kind, value),
        reason,
        until: new Date(until).toISOString(),
      }
    }
    case 'unrevoke':
      return { ...base, action: 'unrevoked', target: revocationKey(change.kind, change.value) }
    case 'kill_switch': {
      const { on, reason, except } = change.killSwitch
      return { ...base, action: on ? 'kill_switch_on' : 'kill_switch_off', reason, except }
    }
    case 'grant': {
      const { id, clientId, subject, scopes, reason, approvedBy, expiresAt } = change.grant
      const who = clientId === undefined ? `subject:${subject ?? ''}` : `clientId:${clientId}`
      return {
        ...base,
        action: 'elevated',
        target: `${who} grant:${id}`,
        scopes,
        reason,
        approvedBy,
        until: new Date(expiresAt).toISOString(),
      }
    }
    case 'ungrant':
      return {
        ...base,
        action: change.expired ? 'elevation_expired' : 'elevation_revoked',
        target: `grant:${change.id}`,
      }
  }
}

/** The audit event of a shared store's status (unreachable, reachable again, resynced). */
export function storeEvent(status: StoreStatus, now: number): StoreEvent {
  return {
    type: 'store',
    v: 1,
    time: new Date(now).toISOString(),
    state: status.state,
    error: status.error,
    failClosed: status.failClosed,
  }
}
