import type { AuthInfo } from './auth-info.js'
import type { Decision } from './decision.js'
import type { ScopeguardRequest } from './request.js'
import type { ProtectedResourceMetadata, ResourceMetadataEndpoint } from './resource-metadata.js'
import type { ScopeRequirement } from './scopes/compile-requirement.js'
import type { DispatchedRoute } from './policy/decide-route.js'
import type { ElevateRequest, RevokeRequest, Target } from './store/lifecycle.js'
import type { ElevationGrant } from './store/types.js'
import type { DispatcherStats } from './audit/dispatcher.js'
import type { UsageReport } from './audit/inventory.js'
import type { ReloadResult } from './policy/policy-source.js'
import type { DecisionContext } from './record-decision.js'
import type { StepUpRequirement } from './policy/types.js'

/** Counters of a guard: what it verified, fetched and answered from cache. */
export interface GuardStats {
  /** Signature verifications performed (cache misses of JWTs). */
  readonly jwtVerifications: number
  /** Introspection requests sent. */
  readonly introspections: number
  /** Requests answered from the verified-token cache. */
  readonly cacheHits: number
  /** Key set fetches (successful or not). */
  readonly keyFetches: number
  /** Metadata discovery requests. */
  readonly discoveryRequests: number
}

/**
 * The framework-free engine behind both adapters: it authenticates requests and judges
 * scope requirements, returning {@link Decision} values.
 */
export interface Guard {
  /** Whether token-less requests are let through anonymously. */
  readonly optional: boolean
  /** Whether a policy judges every dispatched route (adapters then enforce at the route layer). */
  readonly hasPolicy: boolean
  /**
   * Whether certificate-bound tokens are accepted from the TLS connection (`mtls` without
   * `certificateHeader`): adapters then give core the connection's client certificate.
   */
  readonly wantsPeerCertificate: boolean
  /**
   * The RFC 9728 metadata endpoint the adapters serve before authenticating, when `resource`
   * is configured (undefined otherwise, and then it costs nothing).
   */
  readonly metadataEndpoint: ResourceMetadataEndpoint | undefined
  /** The RFC 9728 protected resource metadata document, when `resource` is configured. */
  resourceMetadata(): ProtectedResourceMetadata | undefined
  /**
   * Extracts and verifies the request's token. Never throws for anything a client sends.
   * With a policy (or `optional`), a request without a token proceeds anonymously: the
   * route's rule decides. The answer is synchronous when the token is in the verified-token
   * cache (the common case of a reused token) and a promise only when it must be verified:
   * `await` it either way.
   */
  authenticate(request: ScopeguardRequest): Decision | Promise<Decision>
  /** Judges a compiled requirement (`requireScopes`) for an authenticated (or anonymous) caller. */
  authorize(
    auth: AuthInfo | undefined,
    requirement: ScopeRequirement,
    context?: DecisionContext,
  ): Decision
  /**
   * Judges a step-up requirement (`requireAuthentication`, RFC 9470) for an authenticated (or
   * anonymous) caller: a token whose `acr` / `auth_time` falls short gets 401
   * `insufficient_user_authentication`. Only denials are recorded.
   */
  judgeAuthentication(
    auth: AuthInfo | undefined,
    requirement: StepUpRequirement,
    context?: DecisionContext,
  ): Decision
  /**
   * Judges a request the router dispatched to a route, by the policy's rule for that route.
   * Without a policy every route is allowed here (requireScopes still applies).
   */
  judgeRoute(
    auth: AuthInfo | undefined,
    route: DispatchedRoute,
    context?: DecisionContext,
  ): Decision
  /**
   * Judges, by the policy, a request that no route the adapter can see will dispatch (a
   * handler mounted outside the routers, static files, or no handler at all): by the rules
   * whose method and template match its path, else as unmapped. Nothing is recorded yet: the
   * adapter calls `record()` when the request is denied here, or when it was answered without
   * any route judging it. Without a policy every request is allowed here.
   */
  judgeUnrouted(
    auth: AuthInfo | undefined,
    request: { readonly method: string; readonly path: string },
  ): UnroutedJudgment
  /** The loaded policy's version and file, if there is a policy. */
  policy(): { version: string; file: string | undefined } | undefined
  /** Reloads the policy file now (it is also reloaded when the file changes). */
  reloadPolicy(): Promise<ReloadResult | undefined>
  /** Snapshot of the counters. */
  stats(): GuardStats
  /** Revokes a token (`jti`), a client or a subject on every instance sharing the store: 401 until `until`. */
  revoke(request: RevokeRequest): Promise<void>
  /** Lifts a revocation. */
  unrevoke(request: Target): Promise<void>
  /** Refuses every token (except those of the `except` clients) until switched off. */
  killSwitch(on: boolean, settings?: { except?: readonly string[]; reason?: string }): Promise<void>
  /**
   * Grants extra scopes to a client or subject for `ttl` seconds. Only scopes the policy marks
   * `elevatable`; a TTL is required and bounded by `maxElevationTtl`. Throws a
   * `LifecycleError` saying why a request is refused.
   */
  elevate(request: ElevateRequest): Promise<ElevationGrant>
  /** Ends an elevation grant before it expires. */
  revokeElevation(id: string): Promise<void>
  /** The active elevation grants. */
  elevations(): ElevationGrant[]
  /** The usage inventory: per client, granted vs used scopes (undefined when switched off). */
  inventory(): UsageReport | undefined
  /**
   * Usage summed over every instance sharing the store (with `@scopeguard/redis`), per client:
   * granted, used and unused scopes and routes. The in-memory store gives this process's.
   */
  sharedInventory(): Promise<SharedInventory | undefined>
  /** Counters of the event dispatcher (undefined without sinks). */
  auditStats(): DispatcherStats | undefined
  /** Writes buffered events to the sinks now. */
  flush(): Promise<void>
  /** Stops watching the policy file, flushes events (within `deadlineMs`, default 5,000) and closes sinks. */
  close(deadlineMs?: number): Promise<void>
}

/** The decision about a request that no route dispatched, and how to record it (once). */
export interface UnroutedJudgment {
  readonly decision: Decision
  /** Writes the decision to metrics and the audit trail; later calls do nothing. */
  record(): void
}

/** Usage summed over every instance sharing the store. */
export interface SharedInventory {
  readonly clients: readonly {
    readonly clientId: string
    readonly granted: Readonly<Record<string, number>>
    readonly used: Readonly<Record<string, number>>
    readonly routes: Readonly<Record<string, number>>
    /** Granted but never used by any instance: candidates for removal. */
    readonly unused: readonly string[]
  }[]
}

export type GuardControls = Pick<
  Guard,
  | 'sharedInventory'
  | 'revoke'
  | 'unrevoke'
  | 'killSwitch'
  | 'elevate'
  | 'revokeElevation'
  | 'elevations'
  | 'stats'
  | 'policy'
  | 'reloadPolicy'
  | 'inventory'
  | 'auditStats'
  | 'flush'
  | 'close'
  | 'resourceMetadata'
>

/**
 * Binds a guard's controls for an adapter's middleware object, so that `app.use(guard)` and
 * `guard.inventory()`, `guard.close()`, … are the same object in both frameworks.
 *
 * @example
 * return Object.assign(middleware, { guard, ...guardControls(guard) })
 */
export function guardControls(guard: Guard): GuardControls {
  return {
    stats: () => guard.stats(),
    policy: () => guard.policy(),
    reloadPolicy: () => guard.reloadPolicy(),
    inventory: () => guard.inventory(),
    auditStats: () => guard.auditStats(),
    sharedInventory: () => guard.sharedInventory(),
    flush: () => guard.flush(),
    close: (deadlineMs) => guard.close(deadlineMs),
    revoke: (request) => guard.revoke(request),
    unrevoke: (request) => guard.unrevoke(request),
    killSwitch: (on, settings) => guard.killSwitch(on, settings),
    elevate: (request) => guard.elevate(request),
    revokeElevation: (id) => guard.revokeElevation(id),
    elevations: () => guard.elevations(),
    resourceMetadata: () => guard.resourceMetadata(),
  }
}
