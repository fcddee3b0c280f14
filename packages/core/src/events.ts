import type { Violation } from './decision.js'
import type { PolicyChange } from './policy/diff-policy.js'
import type { PolicyProblem } from './policy/types.js'

/**
 * The record of one decision, versioned (`v: 1`). It names the policy version it was made
 * under and never contains the raw token.
 */
export interface DecisionEvent {
  readonly type: 'decision'
  readonly v: 1
  readonly decisionId: string
  /** ISO 8601 time of the decision. */
  readonly time: string
  readonly allowed: boolean
  readonly status: number
  readonly reason: string
  /** `monitor` when a monitor-mode rule recorded a violation that enforce mode would have denied. */
  readonly mode: 'enforce' | 'monitor'
  readonly method: string
  /** The request path (truncated), for decisions made before routing. */
  readonly path: string | undefined
  /** The route template the decision judged, when the request was dispatched to a route. */
  readonly route: string | undefined
  readonly policyVersion: string | undefined
  readonly clientId: string | undefined
  readonly subject: string | undefined
  readonly tokenId: string | undefined
  readonly scopes: readonly string[]
  /** The requirement that was judged (policy rule or `requireScopes`). */
  readonly required: string | undefined
  readonly missing: readonly string[]
  /** For invalid tokens: why (never sent to the client). */
  readonly rejection: string | undefined
  readonly violations: readonly Violation[]
  /** Scopes the caller held only through an active elevation grant. */
  readonly elevated: readonly string[]
  /** The key a DPoP-bound token is bound to (`cnf.jkt`); absent for bearer tokens. */
  readonly binding?: { readonly kind: 'dpop'; readonly jkt: string }
}

/** A policy was loaded, replaced by a new version, or a new version was rejected. */
export type PolicyEvent =
  | {
      readonly type: 'policy'
      readonly v: 1
      readonly action: 'loaded'
      readonly time: string
      readonly version: string
      readonly file: string | undefined
    }
  | {
      readonly type: 'policy'
      readonly v: 1
      readonly action: 'changed'
      readonly time: string
      readonly version: string
      readonly previousVersion: string
      readonly file: string | undefined
      readonly changes: readonly PolicyChange[]
      /** True when a ramp contract changed stage: such changes are meant to alert. */
      readonly stageMoved: boolean
    }
  | {
      readonly type: 'policy'
      readonly v: 1
      readonly action: 'rejected'
      readonly time: string
      /** The version that keeps serving. */
      readonly version: string
      readonly file: string | undefined
      readonly problems: readonly PolicyProblem[]
      readonly message: string
    }

/**
 * One rule a request broke, as its own event (also listed in its decision): insufficient
 * scope, condition failed, over-scope, unknown client, outside contract, unmapped route, or
 * an invalid token.
 */
export interface ViolationEvent {
  readonly type: 'violation'
  readonly v: 1
  /** The decision this violation belongs to. */
  readonly decisionId: string
  readonly time: string
  readonly violation: Violation | InvalidTokenViolation
  readonly method: string
  readonly path: string | undefined
  readonly route: string | undefined
  readonly policyVersion: string | undefined
  readonly clientId: string | undefined
  readonly subject: string | undefined
  readonly tokenId: string | undefined
}

/** A refused token, as a violation: what was expected and why it failed. */
export interface InvalidTokenViolation {
  readonly type: 'invalid_token'
  readonly mode: 'enforce'
  readonly enforced: true
  readonly expected: 'a valid access token'
  /** The rejection reason (`expired`, `signature_invalid`, …). */
  readonly seen: string
}

/** A client used a scope for the first time after the learning period. */
export interface FirstUseEvent {
  readonly type: 'first_use'
  readonly v: 1
  readonly time: string
  readonly clientId: string
  readonly scope: string
  readonly route: string | undefined
  readonly decisionId: string
}

/**
 * A run-time control changed: a revocation, the kill switch, an elevation grant (made,
 * expired, revoked). `origin` says whether it was applied here or arrived from another
 * instance through the shared store.
 */
export interface LifecycleEvent {
  readonly type: 'lifecycle'
  readonly v: 1
  readonly time: string
  readonly action:
    | 'revoked'
    | 'unrevoked'
    | 'kill_switch_on'
    | 'kill_switch_off'
    | 'elevated'
    | 'elevation_expired'
    | 'elevation_revoked'
    | 'dormant'
  readonly origin: 'local' | 'remote'
  /** `jti:…`, `clientId:…`, `subject:…`, or the grant id for elevations. */
  readonly target: string | undefined
  readonly scopes: readonly string[] | undefined
  readonly reason: string | undefined
  readonly approvedBy: string | undefined
  /** ISO 8601 time when it lapses by itself. */
  readonly until: string | undefined
  readonly except: readonly string[] | undefined
}

/** The shared store's backend became unreachable, reachable again, or was resynced. */
export interface StoreEvent {
  readonly type: 'store'
  readonly v: 1
  readonly time: string
  readonly state: 'unavailable' | 'available' | 'resynced'
  readonly error: string | undefined
  readonly failClosed: boolean | undefined
}

/** Everything a guard reports through `onEvent` and its sinks. */
export type ScopeguardEvent =
  DecisionEvent | ViolationEvent | FirstUseEvent | PolicyEvent | LifecycleEvent | StoreEvent
