import type { JWTPayload } from 'jose'
import createDebug from 'debug'
import type { AuthInfo } from './auth-info.js'
import { toSafeClaims } from './claims.js'
import { deny, type Allow, type Decision, type Violation } from './decision.js'
import { ScopeguardConfigError, TokenInvalidError, VerifierUnavailableError } from './errors.js'
import { findToken, isB64Token, type TokenTransports } from './extract-token.js'
import type { ScopeguardOptions } from './options.js'
import type { ScopeguardRequest } from './request.js'
import { createChallenges, type Challenges, type DpopChallenges } from './responses.js'
import { createDpopCheck } from './dpop/check-request.js'
import { forwardedCertificate, isThumbprint, matchesThumbprint } from './client-certificate.js'
import {
  createResourceMetadata,
  type ProtectedResourceMetadata,
  type ResourceMetadataEndpoint,
} from './resource-metadata.js'
import { missingScopes, satisfies, type ScopeRequirement } from './scopes/compile-requirement.js'
import { readScopes } from './scopes/read-scopes.js'
import {
  checkStepUp,
  decideRoute,
  decideUnrouted,
  expandScopes,
  findRule,
  UNROUTED,
  usedScopes,
  type DispatchedRoute,
} from './policy/decide-route.js'
import { createAuditor } from './audit/create-auditor.js'
import { dormantEvent, lifecycleEvent, storeEvent } from './store/lifecycle-event.js'
import {
  elevationChange,
  killSwitchChange,
  revocationChange,
  unrevocationChange,
  type ElevateRequest,
  type RevokeRequest,
  type Target,
} from './store/lifecycle.js'
import { memoryStore } from './store/memory-store.js'
import {
  revocationKey,
  type ElevationGrant,
  type RevocationKind,
  type StoreSnapshot,
} from './store/types.js'
import { createMetrics } from './audit/metrics.js'
import type { DispatcherStats } from './audit/dispatcher.js'
import type { UsageReport } from './audit/inventory.js'
import { createPolicySource, type ReloadResult } from './policy/policy-source.js'
import type { DecisionContext } from './record-decision.js'
import type { DpopMode, StepUpRequirement } from './policy/types.js'
import { resolveOptions } from './resolve-options.js'
import { introspectToken } from './verify/introspect-token.js'
import { createTokenCache, tokenFingerprint } from './verify/token-cache.js'
import { verifyJwt } from './verify/verify-jwt.js'

const debug = createDebug('scopeguard:decision')
/** The largest time a Date can hold, in epoch seconds. */
const MAX_EPOCH = 8.64e12
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

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

/**
 * Creates a guard from options, synchronously: every option is checked at once (a mistake
 * throws a `ScopeguardConfigError` saying what to change); discovery and key fetching
 * happen lazily, on the first request that needs them, and are shared by all requests.
 *
 * @example
 * const guard = createGuard({ issuer: 'https://auth.example.com', audience: 'https://api.example.com' })
 * const decision = await guard.authenticate({ method: 'GET', headers: req.headers })
 */
export function createGuard(options: ScopeguardOptions): Guard {
  const config = resolveOptions(options)
  const { dpop } = config
  const metadataEndpoint = createResourceMetadata(options, config, () => policySource?.current())
  const challenges = createChallenges(config.realm, {
    resourceMetadata: metadataEndpoint?.url,
    dpop: dpop && { algorithms: dpop.algorithms, withBearer: dpop.mode === 'allowed' },
  })
  const { counters, clock } = config
  const cache = createTokenCache<AuthInfo>(config.cacheEntries, clock)
  const transports: TokenTransports = {
    header: true,
    query: config.queryToken,
    formBody: config.formToken,
    dpop: dpop !== undefined,
  }
  const store = options.store ?? memoryStore({ clock })
  const auditor = createAuditor(
    options,
    clock,
    (error) => debug('onEvent listener threw, ignored: %O', error),
    store.countUsage?.bind(store),
  )
  const policySource =
    options.policy === undefined ? undefined : createPolicySource(options.policy, auditor.emit)
  const unsubscribes = [
    store.subscribe((change, origin) => auditor.emit(lifecycleEvent(change, origin, clock()))),
    store.onStatus?.((status) => auditor.emit(storeEvent(status, clock()))),
  ]
  const dormant = watchDormant()
  const metrics = createMetrics(
    options.audit?.metrics === true,
    () => counters,
    () => auditor.stats(),
  )
  const report = (
    decision: Decision,
    context: DecisionContext,
    used: readonly string[] = [],
  ): Decision => {
    metrics.decision(decision, context.route)
    auditor.decision(decision, context, policySource?.current().version, used)
    return decision
  }
  // DPoP required guard-wide, unless the policy has a rule relaxing it (the rules then judge).
  const dpopRequired = (): boolean =>
    dpop?.mode === 'required' && policySource?.current().relaxesDpop !== true
  /** The 400/401 challenges for a request: the `DPoP` ones where DPoP is required. */
  const base = (scheme?: 'bearer' | 'dpop'): Challenges | DpopChallenges =>
    challenges.dpop !== undefined && (scheme === 'dpop' || dpopRequired())
      ? challenges.dpop
      : challenges
  // A DPoP-bound caller (a valid proof came with the request) is answered with the DPoP
  // scheme, 403s included (RFC 9449 §7.1).
  const dpopRefusals: Challenges =
    challenges.dpop === undefined
      ? challenges
      : Object.freeze({
          ...challenges,
          missing: challenges.dpop.missing,
          invalidRequest: challenges.dpop.invalidRequest,
          invalidToken: challenges.dpop.invalidToken,
          forbidden: challenges.dpop.forbidden,
          insufficientScope: challenges.dpop.insufficientScope,
          insufficientAuthentication: challenges.dpop.insufficientAuthentication,
        })
  const refusalsFor = (auth: AuthInfo | undefined): Challenges =>
    auth?.binding === undefined ? challenges : dpopRefusals
  const checkDpop =
    dpop === undefined || challenges.dpop === undefined
      ? undefined
      : createDpopCheck(
          dpop,
          challenges as Challenges & { dpop: DpopChallenges },
          store,
          clock,
          dpopRequired,
        )
  const anonymous: Allow = Object.freeze({
    allowed: true,
    status: 200,
    reason: 'anonymous',
    auth: undefined,
  })

  /** Reports (and, if asked, revokes) clients that no instance has seen for `dormantAfter`. */
  function watchDormant(): { clients: () => string[]; stop: () => void } {
    const after = options.dormantAfter
    if (after === undefined) return { clients: () => [], stop: () => undefined }
    if (typeof after !== 'number' || !(after > 0))
      throw new ScopeguardConfigError('dormantAfter must be a positive number of seconds')
    const startedAt = clock()
    const reported = new Map<string, number>() // client → last seen when reported
    const check = async (): Promise<void> => {
      const seen = (await store.lastSeen?.()) ?? new Map<string, number>()
      const now = clock()
      const known = new Set([...(policySource?.current().clients.keys() ?? []), ...seen.keys()])
      for (const clientId of known) {
        const last = seen.get(clientId) ?? startedAt
        if (reported.has(clientId) && reported.get(clientId) !== last) reported.delete(clientId) // seen again
        if (now - last <= after * 1000 || reported.has(clientId)) continue
        reported.set(clientId, last)
        const reason = `not seen for more than ${after} s`
        auditor.emit(dormantEvent(clientId, reason, now))
        if (options.revokeDormant === true)
          await store.apply(
            revocationChange({ clientId, reason: `dormant: ${reason}` }, now, config.revocationTtl),
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

  const verify = async (token: string, fingerprint: string): Promise<AuthInfo> => {
    const now = clock()
    if (JWT_SHAPE.test(token)) {
      counters.jwtVerifications++
      const { payload, algorithm } = await verifyJwt(token, config.jwt, now)
      checkClaims(payload)
      return toAuthInfo(payload, 'jwt', algorithm, fingerprint)
    }
    if (config.introspection === undefined) throw new TokenInvalidError('unsupported_format')
    counters.introspections++
    const answer = await introspectToken(token, config.introspection, now)
    checkClaims(answer)
    return toAuthInfo(answer, 'opaque', undefined, fingerprint)
  }

  const checkClaims = (claims: Record<string, unknown>): void => {
    // A token bound to a key (DPoP cnf.jkt, mTLS cnf.x5t#S256) must not work as a plain
    // bearer token: whoever stole it would not need the key (RFC 9449 §7.2, RFC 8705 §3).
    if (Object.hasOwn(claims, 'cnf')) checkConfirmation(claims['cnf'])
    for (const name of ['exp', 'iat', 'nbf']) {
      const value = claims[name]
      if (
        value !== undefined &&
        !(typeof value === 'number' && Number.isFinite(value) && Math.abs(value) <= MAX_EPOCH)
      ) {
        throw new TokenInvalidError('claim_invalid')
      }
    }
    checkLifetime(claims)
  }

  /**
   * The confirmation methods (RFC 7800 `cnf`) this guard checks on every request are accepted
   * here, each checked again per request and never cached with the token: `jkt` when DPoP is
   * not disabled (a proof of that key, RFC 9449 §6), `x5t#S256` with `mtls` (the client
   * certificate, RFC 8705 §3). A `cnf` with any other member, or with one this guard does not
   * check, refuses the token: one carrying both `jkt` and `x5t#S256` is accepted only when
   * both DPoP and `mtls` are on, and then needs both a valid proof and the certificate.
   */
  const checkConfirmation = (cnf: unknown): void => {
    if (cnf === null || typeof cnf !== 'object' || Array.isArray(cnf))
      throw new TokenInvalidError('key_bound')
    const members = Object.keys(cnf)
    if (members.length === 0) throw new TokenInvalidError('key_bound')
    for (const member of members) {
      const value = (cnf as Record<string, unknown>)[member]
      if (member === 'jkt' && dpop !== undefined) {
        if (typeof value !== 'string' || value === '') throw new TokenInvalidError('claim_invalid')
      } else if (member === 'x5t#S256' && config.mtls !== undefined) {
        if (!isThumbprint(value)) throw new TokenInvalidError('claim_invalid')
      } else {
        throw new TokenInvalidError('key_bound')
      }
    }
  }

  /** The client certificate of a request: from the trusted proxy's header, or the TLS connection. */
  const clientCertificate = (request: ScopeguardRequest): Uint8Array | undefined => {
    const header = config.mtls?.certificateHeader
    if (header !== undefined) return forwardedCertificate(request, header)
    return request.clientCertificate?.()
  }

  const checkLifetime = (claims: { iat?: unknown; exp?: unknown }): void => {
    const max = config.maxTokenLifetime
    if (max === undefined) return
    const { iat, exp } = claims
    if (typeof iat !== 'number' || typeof exp !== 'number')
      throw new TokenInvalidError('claim_invalid')
    if (exp - iat > max) throw new TokenInvalidError('lifetime_too_long')
  }

  const toAuthInfo = (
    payload: JWTPayload | Record<string, unknown>,
    format: 'jwt' | 'opaque',
    algorithm: string | undefined,
    fingerprint: string,
  ): AuthInfo => {
    const claims = toSafeClaims(payload as Record<string, unknown>)
    const text = (name: string): string | undefined =>
      typeof claims[name] === 'string' ? (claims[name] as string) : undefined
    const time = (name: string): Date | undefined =>
      typeof claims[name] === 'number' ? new Date((claims[name] as number) * 1000) : undefined
    const aud = claims['aud']
    // checkClaims let a `cnf` through only with members this guard checks per request.
    const cnf = claims['cnf'] as Record<string, unknown> | undefined
    const jkt = cnf?.['jkt'] as string | undefined
    const thumbprint = cnf?.['x5t#S256'] as string | undefined
    return Object.freeze({
      ...(jkt === undefined ? {} : { binding: Object.freeze({ kind: 'dpop' as const, jkt }) }),
      clientId: text('client_id') ?? text('azp'),
      subject: text('sub'),
      scopes: Object.freeze(readScopes(claims, config.scopeClaim)),
      claims,
      token: Object.freeze({
        format,
        id: text('jti'),
        issuer: text('iss') ?? config.introspection?.issuer ?? '',
        audience: Object.freeze(
          typeof aud === 'string'
            ? [aud]
            : Array.isArray(aud)
              ? (aud.filter((a) => typeof a === 'string') as string[])
              : [],
        ),
        algorithm,
        issuedAt: time('iat'),
        expiresAt: time('exp'),
        fingerprint,
        ...(thumbprint === undefined ? {} : { certificateThumbprint: thumbprint }),
      }),
    })
  }

  // A verified token is served from cache exactly as long as verification would accept it.
  const tolerance = config.jwt.clockTolerance * 1000
  const cacheUntil = (auth: AuthInfo): number => {
    const expiresAt = auth.token.expiresAt?.getTime()
    let until = expiresAt === undefined ? Infinity : expiresAt + tolerance
    if (auth.token.format === 'opaque') {
      until = Math.min(until, clock() + config.introspectionCacheMaxAge)
    }
    const { maxTokenAge } = config.jwt
    if (maxTokenAge !== undefined && auth.token.issuedAt !== undefined) {
      until = Math.min(until, auth.token.issuedAt.getTime() + maxTokenAge * 1000 + tolerance)
    }
    return until
  }

  const authenticate = (request: ScopeguardRequest): Decision | Promise<Decision> => {
    const started = metrics.timed ? performance.now() : 0
    const checked = check(request)
    if (checked instanceof Promise)
      return checked.then((decision) => finish(decision, request, started))
    return finish(checked, request, started)
  }

  const finish = (decision: Decision, request: ScopeguardRequest, started: number): Decision => {
    if (metrics.timed) metrics.verification((performance.now() - started) / 1000, decision.allowed)
    // Allowed requests are recorded where they are judged (route or requireScopes).
    return decision.allowed
      ? decision
      : report(decision, { method: request.method, path: request.path })
  }

  /** Synchronous when the token is in the cache (the hot path); a promise only on a miss. */
  const check = (request: ScopeguardRequest): Decision | Promise<Decision> => {
    const found = findToken(request, transports, config.maxTokenLength)
    switch (found.kind) {
      case 'none':
        if (config.optional) return anonymous
        // With a policy, only a request that could reach a public rule passes without a token:
        // handlers outside the routers (app.use middleware, static files) are never judged by
        // a rule, so they must not become reachable anonymously.
        if (
          policySource !== undefined &&
          policySource.current().isPublicPath(request.method, request.path ?? '/')
        ) {
          return anonymous
        }
        return deny('token_missing', base().missing)
      case 'invalid_request':
        debug('invalid request: %s', found.detail)
        return deny('request_invalid', base().invalidRequest)
      case 'invalid_token':
        debug('token rejected: %s', found.detail)
        return deny('token_invalid', base().invalidToken, { rejection: found.detail })
    }
    const cached = cache.peek(found.token)
    if (cached !== undefined) {
      counters.cacheHits++
      return admit(request, cached, found.scheme ?? 'bearer')
    }
    // Only a token that was never verified is checked against the RFC 6750 b64token syntax:
    // a cached one passed it already.
    if (!isB64Token(found.token)) {
      debug('token rejected: malformed')
      // As for a credential rejected on sight (too large): the DPoP scheme only where required.
      return deny('token_invalid', base().invalidToken, { rejection: 'malformed' })
    }
    const { value, hit } = cache.get(
      found.token,
      () => verify(found.token, tokenFingerprint(found.token)),
      cacheUntil,
    )
    if (hit) counters.cacheHits++
    const scheme = found.scheme ?? 'bearer'
    return value.then(
      (auth) => admit(request, auth, scheme),
      (error: unknown) => denyFor(error, base(scheme)),
    )
  }

  /**
   * A verified caller, checked per request for what the cache cannot hold: the DPoP proof
   * (only for a `DPoP` request, a DPoP-bound token or where DPoP is required: a plain bearer
   * request costs a few comparisons and stays synchronous), the certificate a bound token
   * needs, and the store's snapshot (revocations, kill switch, elevations).
   */
  const admit = (
    request: ScopeguardRequest,
    auth: AuthInfo,
    scheme: 'bearer' | 'dpop',
  ): Decision | Promise<Decision> => {
    if (
      checkDpop !== undefined &&
      (scheme === 'dpop' || auth.binding !== undefined || dpop?.mode === 'required')
    ) {
      const refused = checkDpop(request, scheme, auth)
      if (refused instanceof Promise) {
        return refused.then(
          (proofRefused) => proofRefused ?? admitChecked(request, auth, scheme),
          (error: unknown) => denyFor(error, base(scheme)),
        )
      }
      if (refused !== undefined) return refused
    }
    return admitChecked(request, auth, scheme)
  }

  /** {@link admit} after the DPoP check: certificate binding, then the store's state. */
  const admitChecked = (
    request: ScopeguardRequest,
    auth: AuthInfo,
    scheme: 'bearer' | 'dpop',
  ): Decision => {
    const thumbprint = auth.token.certificateThumbprint
    if (thumbprint !== undefined) {
      // RFC 8705 §3: the token works only over a connection with the certificate it is bound to.
      const certificate = clientCertificate(request)
      if (!matchesThumbprint(thumbprint, certificate)) {
        const rejection = certificate === undefined ? 'certificate_missing' : 'certificate_mismatch'
        debug('token refused: %s', rejection)
        return deny('token_invalid', refusalsFor(auth).invalidToken, { rejection, auth })
      }
    }
    if (auth.clientId !== undefined) store.touch?.(auth.clientId, clock())
    const state = store.snapshot()
    const decision: Decision = state.empty
      ? { allowed: true, status: 200, reason: 'allowed', auth }
      : applyState(state, auth)
    // RFC 9449 §8.2: a fresh nonce with every answer to a DPoP request, when nonces are on.
    if (scheme === 'dpop' && decision.allowed && dpop?.nonce !== undefined)
      return { ...decision, headers: dpop.nonce.current(clock()).headers }
    return decision
  }

  /** Revocations, the kill switch and elevation grants, read from the store's local snapshot. */
  const applyState = (state: StoreSnapshot, auth: AuthInfo): Decision => {
    if (state.unavailable) return deny('verifier_unavailable', challenges.unavailable)
    const now = clock()
    const revoked = (kind: RevocationKind, value: string | undefined): boolean => {
      const found =
        value === undefined ? undefined : state.revocations.get(revocationKey(kind, value))
      return found !== undefined && found.until > now
    }
    const killed =
      state.killSwitch !== undefined && !state.killSwitch.except.includes(auth.clientId ?? '')
    if (
      killed ||
      revoked('jti', auth.token.id) ||
      revoked('clientId', auth.clientId) ||
      revoked('subject', auth.subject)
    ) {
      debug('token refused: revoked%s', killed ? ' (kill switch)' : '')
      // The caller is known (the token itself was valid): the audit trail says whose token it was.
      return deny('token_invalid', refusalsFor(auth).invalidToken, { rejection: 'revoked', auth })
    }
    const grants = [...state.grants.values()].filter(
      (g) =>
        g.expiresAt > now &&
        ((g.clientId !== undefined && g.clientId === auth.clientId) ||
          (g.subject !== undefined && g.subject === auth.subject)),
    )
    if (grants.length === 0) return { allowed: true, status: 200, reason: 'allowed', auth }
    const extra = [...new Set(grants.flatMap((g) => g.scopes))].filter(
      (scope) => !auth.scopes.has(scope),
    )
    const elevated: AuthInfo = Object.freeze({
      ...auth,
      scopes: Object.freeze(new Set([...auth.scopes, ...extra])),
      elevation: Object.freeze({
        scopes: Object.freeze(extra),
        grants: Object.freeze(grants.map((g) => g.id)),
      }),
    })
    return { allowed: true, status: 200, reason: 'allowed', auth: elevated }
  }

  const denyFor = (error: unknown, refusal: Challenges | DpopChallenges): Decision => {
    if (error instanceof TokenInvalidError) {
      debug('token rejected: %s %O', error.reason, error.cause)
      return deny('token_invalid', refusal.invalidToken, {
        rejection: error.reason,
        cause: error,
      })
    }
    if (error instanceof VerifierUnavailableError) {
      debug('verifier unavailable: %O', error)
      return deny('verifier_unavailable', challenges.unavailable, { cause: error })
    }
    // Anything else (a bug, a key of the wrong type, …) refuses the token; it never becomes a 500.
    debug('unexpected verification error: %O', error)
    return deny('token_invalid', refusal.invalidToken, { rejection: 'malformed', cause: error })
  }

  const authorize = (
    auth: AuthInfo | undefined,
    requirement: ScopeRequirement,
    context: DecisionContext = { method: '' },
  ): Decision => {
    const judged = (): DecisionContext => ({
      method: context.method,
      path: context.path,
      route: context.route,
      required: requirement.source,
    })
    if (auth === undefined) return report(deny('token_missing', challenges.missing), judged())
    // With a policy, a token's scopes count with everything they imply in the catalog.
    const granted =
      policySource === undefined ? auth.scopes : expandScopes(policySource.current(), auth.scopes)
    if (satisfies(requirement, granted)) {
      const allowed: Decision = { allowed: true, status: 200, reason: 'allowed', auth }
      // With a policy, the route's decision records the request and counts its usage; an
      // allowed requireScopes() next to it adds nothing, so only its denials are recorded.
      if (policySource !== undefined) return allowed
      return report(allowed, judged(), usedScopes(undefined, requirement, auth))
    }
    const missing = missingScopes(requirement, granted)
    debug('insufficient scope for %s: missing %o', requirement.source, missing)
    const refusals = refusalsFor(auth)
    const decision = deny('scope_insufficient', refusals.insufficientScope(requirement), {
      missingScopes: missing,
      auth,
      violations: [
        {
          type: 'insufficient_scope',
          mode: 'enforce',
          enforced: true,
          expected: requirement.source,
          seen: [...auth.scopes],
        },
      ],
    })
    return report(decision, judged())
  }

  const judgeAuthentication = (
    auth: AuthInfo | undefined,
    requirement: StepUpRequirement,
    context: DecisionContext = { method: '' },
  ): Decision => {
    if (auth === undefined) return report(deny('token_missing', challenges.missing), context)
    const failed = checkStepUp(requirement, auth, clock)
    // Allowed calls are recorded by the route's rule or requireScopes next to this one.
    if (failed === undefined) return { allowed: true, status: 200, reason: 'allowed', auth }
    const violation: Violation = {
      type: 'insufficient_user_authentication',
      mode: 'enforce',
      enforced: true,
      expected: { acr: requirement.acr ?? null, maxAge: requirement.maxAge ?? null },
      seen: { acr: auth.claims['acr'] ?? null, auth_time: auth.claims['auth_time'] ?? null },
    }
    const response = refusalsFor(auth).insufficientAuthentication(requirement, failed)
    return report(
      deny('authentication_insufficient', response, { auth, violations: [violation] }),
      context,
    )
  }

  const judgeRoute = (
    auth: AuthInfo | undefined,
    route: DispatchedRoute,
    context?: DecisionContext,
  ): Decision => {
    if (policySource === undefined)
      return auth === undefined
        ? anonymous
        : { allowed: true, status: 200, reason: 'allowed', auth }
    const policy = policySource.current()
    const rule = findRule(policy, route)
    const requirement = rule?.requirement
    const where: DecisionContext = {
      method: context?.method ?? route.method,
      path: context?.path,
      route: route.template,
      required: requirement?.source,
    }
    // A public rule lets anyone through; its route is not judged on DPoP either.
    const refused = rule?.public === true ? undefined : judgeRouteDpop(rule?.dpop, auth)
    if (refused !== undefined) return report(refused, where)
    const decision = decideRoute(policy, route, auth, refusalsFor(auth), clock)
    const used =
      decision.allowed && auth !== undefined && requirement !== undefined
        ? usedScopes(policy, requirement, auth)
        : []
    return report(decision, where, used)
  }

  /**
   * A route rule's `dpop` (else the guard's mode) against how the request authenticated:
   * `required` refuses a bearer token, `disabled` a DPoP-bound one (RFC 9449 §7.1).
   */
  const judgeRouteDpop = (
    mode: DpopMode | undefined,
    auth: AuthInfo | undefined,
  ): Decision | undefined => {
    const effective = mode ?? dpop?.mode ?? 'disabled'
    if (auth === undefined) return undefined // the rule decides (public, or token_missing)
    const bound = auth.binding?.kind === 'dpop'
    if (effective === 'required' && !bound) {
      return deny('token_invalid', challenges.dpop?.invalidToken ?? challenges.invalidToken, {
        rejection: 'dpop_required',
        auth,
      })
    }
    if (effective === 'disabled' && bound)
      return deny('token_invalid', challenges.invalidToken, { rejection: 'dpop_disabled', auth })
    return undefined
  }

  const judgeUnrouted = (
    auth: AuthInfo | undefined,
    request: { readonly method: string; readonly path: string },
  ): UnroutedJudgment => {
    if (policySource === undefined) {
      const decision: Decision =
        auth === undefined ? anonymous : { allowed: true, status: 200, reason: 'allowed', auth }
      return { decision, record: () => undefined }
    }
    const policy = policySource.current()
    const judged = decideUnrouted(
      policy,
      request.method,
      request.path,
      auth,
      refusalsFor(auth),
      clock,
    )
    const rule = judged.rule
    // The rule's (else the guard's) DPoP mode holds here too, as at a route.
    const refused = rule?.public === true ? undefined : judgeRouteDpop(rule?.dpop, auth)
    const decision = refused ?? judged.decision
    let recorded = false
    return {
      decision,
      record: () => {
        if (recorded) return
        recorded = true
        const requirement = rule?.requirement
        const used =
          decision.allowed && auth !== undefined && requirement !== undefined
            ? usedScopes(policy, requirement, auth)
            : []
        report(
          decision,
          {
            method: request.method,
            path: request.path,
            route: rule?.path ?? UNROUTED,
            required: requirement?.source,
          },
          used,
        )
      },
    }
  }

  return {
    optional: config.optional,
    hasPolicy: policySource !== undefined,
    wantsPeerCertificate: config.mtls !== undefined && config.mtls.certificateHeader === undefined,
    metadataEndpoint,
    resourceMetadata: () => metadataEndpoint?.document(),
    authenticate,
    authorize,
    judgeAuthentication,
    judgeRoute,
    judgeUnrouted,
    policy: () => {
      const policy = policySource?.current()
      return policy === undefined ? undefined : { version: policy.version, file: policy.file }
    },
    reloadPolicy: () =>
      policySource === undefined ? Promise.resolve(undefined) : policySource.reload(),
    stats: () => ({ ...counters }),
    inventory: () => {
      const report = auditor.inventory()?.report()
      return report === undefined ? undefined : { ...report, dormant: dormant.clients() }
    },
    auditStats: () => auditor.stats(),
    sharedInventory: async () => {
      const usage = await store.usage?.()
      if (usage === undefined) return undefined
      return {
        clients: [...usage].map(([clientId, counts]) => ({
          clientId,
          granted: counts.granted,
          used: counts.used,
          routes: counts.route,
          unused: Object.keys(counts.granted)
            .filter((scope) => !(scope in counts.used))
            .sort(),
        })),
      }
    },
    flush: () => auditor.flush(),
    revoke: async (request) =>
      store.apply(revocationChange(request, clock(), config.revocationTtl)),
    unrevoke: async (request) => store.apply(unrevocationChange(request)),
    killSwitch: async (on, settings = {}) => store.apply(killSwitchChange(on, settings, clock())),
    elevate: async (request) => {
      const change = elevationChange(
        request,
        policySource?.current(),
        clock(),
        config.maxElevationTtl,
      )
      await store.apply(change)
      return (change as { grant: ElevationGrant }).grant
    },
    revokeElevation: async (id) => store.apply({ op: 'ungrant', id, expired: false }),
    elevations: () =>
      [...store.snapshot().grants.values()].filter((grant) => grant.expiresAt > clock()),
    close: async (deadlineMs) => {
      policySource?.close()
      for (const stop of unsubscribes) stop?.()
      dormant.stop()
      cache.clear()
      await store.close()
      await auditor.close(deadlineMs)
    },
  }
}

/** The controls both adapters put on their middleware, bound to the guard. */
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
