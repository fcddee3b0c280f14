import { randomUUID } from 'node:crypto'
import { ScopeguardError } from '../errors.js'
import type { CompiledPolicy } from '../policy/types.js'
import type {
  ElevationGrant,
  KillSwitch,
  Revocation,
  RevocationKind,
  StoreChange,
} from './types.js'

/** A refused revocation, kill switch or elevation request: the message says why. */
export class LifecycleError extends ScopeguardError {
  constructor(message: string) {
    super('ERR_SG_LIFECYCLE_REFUSED', message)
  }
}

/** Whom a revocation or elevation is for: exactly one of these. */
export interface Target {
  readonly jti?: string
  readonly clientId?: string
  readonly subject?: string
}

/** `guard.revoke()` arguments. */
export interface RevokeRequest extends Target {
  readonly reason: string
  /** Epoch ms or Date when it lapses. Default: now + `revocationTtl` (a day). */
  readonly until?: number | Date
}

/** `guard.elevate()` arguments. */
export interface ElevateRequest {
  readonly clientId?: string
  readonly subject?: string
  readonly scopes: readonly string[]
  /** Seconds the grant lasts; required, and at most `maxElevationTtl`. */
  readonly ttl: number
  readonly reason: string
  readonly approvedBy: string
}

/** Picks the one target of a request, or refuses. */
export function targetOf(
  request: Target,
  allowed: readonly RevocationKind[],
): { kind: RevocationKind; value: string } {
  const given = allowed.filter((kind) => request[kind] !== undefined)
  if (given.length !== 1) {
    throw new LifecycleError(
      `name exactly one of ${allowed.join(', ')} (got ${given.length === 0 ? 'none' : given.join(' and ')})`,
    )
  }
  const kind = given[0] as RevocationKind
  const value = request[kind]
  if (typeof value !== 'string' || value === '')
    throw new LifecycleError(`${kind} must be a non-empty string`)
  return { kind, value }
}

function text(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw new LifecycleError(`${name} is required: say why, for the audit trail`)
  return value
}

/**
 * Checks a revocation request and builds its change. A `jti` revocation should last until
 * the token's `exp`: give `until`, or it lasts `defaultTtl` seconds.
 */
export function revocationChange(
  request: RevokeRequest,
  now: number,
  defaultTtl: number,
): StoreChange {
  const { kind, value } = targetOf(request, ['jti', 'clientId', 'subject'])
  const until = request.until === undefined ? now + defaultTtl * 1000 : Number(request.until)
  if (!Number.isFinite(until) || until <= now)
    throw new LifecycleError('until must be a time in the future')
  const revocation: Revocation = {
    kind,
    value,
    reason: text('reason', request.reason),
    until,
    at: now,
  }
  return { op: 'revoke', revocation }
}

/** Builds the change that lifts a revocation. */
export function unrevocationChange(request: Target): StoreChange {
  const { kind, value } = targetOf(request, ['jti', 'clientId', 'subject'])
  return { op: 'unrevoke', kind, value }
}

/** Builds the change that turns the kill switch on (every token refused but the `except` clients') or off. */
export function killSwitchChange(
  on: boolean,
  options: { except?: readonly string[]; reason?: string },
  now: number,
): StoreChange {
  const except = options.except ?? []
  if (!Array.isArray(except) || except.some((c) => typeof c !== 'string' || c === '')) {
    throw new LifecycleError('except must be a list of client ids')
  }
  const killSwitch: KillSwitch = {
    on: on === true,
    except: [...except],
    reason: on ? text('reason', options.reason) : (options.reason ?? ''),
    at: now,
  }
  return { op: 'kill_switch', killSwitch }
}

/**
 * Checks an elevation request against the policy and builds its grant: one target, a TTL
 * that is given and bounded, a reason and an approver, and only scopes the policy's catalog
 * marks `elevatable`.
 */
export function elevationChange(
  request: ElevateRequest,
  policy: CompiledPolicy | undefined,
  now: number,
  maxTtl: number,
): StoreChange {
  const { kind, value } = targetOf(request, ['clientId', 'subject'])
  const ttl = request.ttl
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0) {
    throw new LifecycleError(
      'ttl is required: a number of seconds after which the grant is gone by itself',
    )
  }
  if (ttl > maxTtl)
    throw new LifecycleError(`ttl ${ttl} s is longer than maxElevationTtl (${maxTtl} s)`)
  if (!Array.isArray(request.scopes) || request.scopes.length === 0)
    throw new LifecycleError('scopes must list at least one scope')
  if (policy === undefined) {
    throw new LifecycleError(
      'elevation needs a policy whose scopes catalog marks the scopes that may be granted as elevatable',
    )
  }
  const refused = request.scopes.filter(
    (scope) => policy.document.scopes[scope]?.elevatable !== true,
  )
  if (refused.length > 0) {
    throw new LifecycleError(
      `not elevatable in the policy: ${refused.join(', ')} (mark them "elevatable: true" in the scopes catalog)`,
    )
  }
  const grant: ElevationGrant = {
    id: randomUUID(),
    clientId: kind === 'clientId' ? value : undefined,
    subject: kind === 'subject' ? value : undefined,
    scopes: [...new Set(request.scopes)],
    reason: text('reason', request.reason),
    approvedBy: text('approvedBy', request.approvedBy),
    createdAt: now,
    expiresAt: now + ttl * 1000,
  }
  return { op: 'grant', grant }
}
