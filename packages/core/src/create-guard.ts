import createDebug from 'debug'
import type { AuthInfo } from './auth-info.js'
import { deny, type Allow, type Decision, type Violation } from './decision.js'
import { TokenInvalidError, VerifierUnavailableError } from './errors.js'
import { findToken, isB64Token, type TokenTransports } from './extract-token.js'
import type { ScopeguardOptions } from './options.js'
import type { ScopeguardRequest } from './request.js'
import { createChallenges, type Challenges, type DpopChallenges } from './responses.js'
import { createDpopCheck } from './dpop/check-request.js'
import { forwardedCertificate, matchesThumbprint } from './client-certificate.js'
import { createResourceMetadata } from './resource-metadata.js'
import { missingScopes, satisfies, type ScopeRequirement } from './scopes/compile-requirement.js'
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
import { lifecycleEvent, storeEvent } from './store/lifecycle-event.js'
import {
  elevationChange,
  killSwitchChange,
  revocationChange,
  unrevocationChange,
} from './store/lifecycle.js'
import { memoryStore } from './store/memory-store.js'
import { watchDormant } from './store/watch-dormant.js'
import { applyState } from './store/apply-state.js'
import type { ElevationGrant } from './store/types.js'
import { createMetrics } from './audit/metrics.js'
import { createPolicySource } from './policy/policy-source.js'
import type { DecisionContext } from './record-decision.js'
import type { DpopMode, StepUpRequirement } from './policy/types.js'
import type { Guard, UnroutedJudgment } from './guard.js'
import { resolveOptions } from './resolve-options.js'
import { createTokenCache, tokenFingerprint } from './verify/token-cache.js'
import { createTokenVerifier, isJwtShaped } from './verify/verify-token.js'

const debug = createDebug('scopeguard:decision')

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
  const { verify, cacheUntil } = createTokenVerifier(config)
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
  const dormant = watchDormant({
    after: options.dormantAfter,
    revoke: options.revokeDormant === true,
    revocationTtl: config.revocationTtl,
    store,
    clock,
    knownClients: () => policySource?.current().clients.keys() ?? [],
    emit: (event) => auditor.emit(event),
  })
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

  /** The client certificate of a request: from the trusted proxy's header, or the TLS connection. */
  const clientCertificate = (request: ScopeguardRequest): Uint8Array | undefined => {
    const header = config.mtls?.certificateHeader
    if (header !== undefined) return forwardedCertificate(request, header)
    return request.clientCertificate?.()
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
    // a cached one passed it already. A JWT-shaped token is a b64token: one scan for a JWT.
    const jwt = isJwtShaped(found.token)
    if (!jwt && !isB64Token(found.token)) {
      debug('token rejected: malformed')
      // As for a credential rejected on sight (too large): the DPoP scheme only where required.
      return deny('token_invalid', base().invalidToken, { rejection: 'malformed' })
    }
    const { value, hit } = cache.get(
      found.token,
      () => verify(found.token, tokenFingerprint(found.token), jwt),
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
      : applyState(state, auth, clock(), {
          invalidToken: refusalsFor(auth).invalidToken,
          unavailable: challenges.unavailable,
        })
    // RFC 9449 §8.2: a fresh nonce with every answer to a DPoP request, when nonces are on.
    if (scheme === 'dpop' && decision.allowed && dpop?.nonce !== undefined)
      return { ...decision, headers: dpop.nonce.current(clock()).headers }
    return decision
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
    if (auth === undefined) {
      return report(deny('token_missing', challenges.missing), judged(context, requirement))
    }
    // With a policy, a token's scopes count with everything they imply in the catalog.
    const granted =
      policySource === undefined ? auth.scopes : expandScopes(policySource.current(), auth.scopes)
    if (satisfies(requirement, granted)) {
      const allowed: Decision = { allowed: true, status: 200, reason: 'allowed', auth }
      // With a policy, the route's decision records the request and counts its usage; an
      // allowed requireScopes() next to it adds nothing, so only its denials are recorded.
      if (policySource !== undefined) return allowed
      return report(allowed, judged(context, requirement), usedScopes(undefined, requirement, auth))
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
    return report(decision, judged(context, requirement))
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

/**
 * The context of a `requireScopes` decision: the request's, with the requirement judged. Its
 * members are read from the request's context only when asked (when the decision is recorded):
 * an adapter may read them off the framework's request object, which costs.
 */
class Judged implements DecisionContext {
  readonly #context: DecisionContext
  readonly required: string
  constructor(context: DecisionContext, requirement: ScopeRequirement) {
    this.#context = context
    this.required = requirement.source
  }
  get method(): string {
    return this.#context.method
  }
  get path(): string | undefined {
    return this.#context.path
  }
  get route(): string | undefined {
    return this.#context.route
  }
}

const judged = (context: DecisionContext, requirement: ScopeRequirement): DecisionContext =>
  new Judged(context, requirement)
