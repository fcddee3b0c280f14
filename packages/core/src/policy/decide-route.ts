import type { AuthInfo } from '../auth-info.js'
import { deny, type Decision, type Violation } from '../decision.js'
import type { Challenges } from '../responses.js'
import { missingScopes, satisfies, type ScopeRequirement } from '../scopes/compile-requirement.js'
import type { CompiledPolicy, CompiledRoute, RouteCondition, StepUpRequirement } from './types.js'

/** The route a request was dispatched to, as the framework's router saw it. */
export interface DispatchedRoute {
  /**
   * The method whose handler runs: the request method, or `GET` when the router runs a GET
   * handler for a HEAD request.
   */
  readonly method: string
  /** The full path template, mount prefixes included (`/tenants/:tenantId/items`). */
  readonly template: string
  /** Route parameters as the router decoded them (wildcards as arrays of segments). */
  readonly params: Readonly<Record<string, string | readonly string[] | undefined>>
}

/**
 * The rule that judges a dispatched route: the rule for its method and template, else the
 * template's `ALL` rule; undefined when the policy does not map the route.
 *
 * @example
 * findRule(policy, { method: 'GET', template: '/items/:id', params: {} })?.key // => 'GET /items/:id'
 */
export function findRule(
  policy: CompiledPolicy,
  route: DispatchedRoute,
): CompiledRoute | undefined {
  // Templates come from the app's routes and methods from Node's HTTP parser, so the memo
  // stays as small as the app; it saves building and hashing two keys on every request.
  let byTemplate = ruleMemos.get(policy)
  if (byTemplate === undefined) ruleMemos.set(policy, (byTemplate = new Map()))
  let byMethod = byTemplate.get(route.template)
  if (byMethod === undefined) byTemplate.set(route.template, (byMethod = new Map()))
  let rule = byMethod.get(route.method)
  if (rule === undefined) {
    rule =
      policy.routes.get(`${route.method} ${route.template}`) ??
      policy.routes.get(`ALL ${route.template}`) ??
      null
    if (byMethod.size < 64) byMethod.set(route.method, rule)
  }
  return rule ?? undefined
}

/** Per policy: template → method → rule (null: unmapped). */
const ruleMemos = new WeakMap<CompiledPolicy, Map<string, Map<string, CompiledRoute | null>>>()

/**
 * Expands granted scopes with everything they imply in the catalog. Scopes the catalog does
 * not know are kept as they are (they may still satisfy a `requireScopes`).
 */
export function expandScopes(
  policy: CompiledPolicy,
  scopes: ReadonlySet<string>,
): ReadonlySet<string> {
  // A verified token's scope set is one object for as long as the token is cached: its
  // expansion under the current policy is computed once, not on every request.
  const known = expansions.get(scopes)
  if (known !== undefined && known.policy === policy) return known.expanded
  const expanded = new Set<string>()
  for (const scope of scopes) {
    const implied = policy.closure.get(scope)
    if (implied === undefined) expanded.add(scope)
    else for (const s of implied) expanded.add(s)
  }
  expansions.set(scopes, { policy, expanded, used: new Map() })
  return expanded
}

/** Per granted scope set: its expansion under a policy, and the scopes each requirement used. */
const expansions = new WeakMap<
  ReadonlySet<string>,
  {
    /** Undefined: without a policy (no `implies`). */
    policy: CompiledPolicy | undefined
    expanded: ReadonlySet<string>
    used: Map<ScopeRequirement, readonly string[]>
  }
>()

/**
 * Judges one dispatched request against the policy: the route's rule (unmapped routes are
 * denied by default; public routes need no token), its requirement against the token's
 * scopes closed under `implies`, its conditions, the client's baseline, and the client's
 * ramp contract at its current stage, and its step-up requirement (RFC 9470: `acr`, and
 * `auth_time` against `clock`, epoch milliseconds, read only for rules with `maxAge`). Each broken rule is a {@link Violation}; it
 * denies the request only in `enforce` mode (and, for baselines, with `onOverScope: block`).
 * In `monitor` mode the request proceeds and the decision carries what would have been
 * denied. A step-up failure answers 401 `insufficient_user_authentication` before any 403.
 *
 * @example
 * const decision = decideRoute(policy, route, auth, challenges)
 * if (!decision.allowed) respond(decision.status, decision.headers)
 */
export function decideRoute(
  policy: CompiledPolicy,
  route: DispatchedRoute,
  auth: AuthInfo | undefined,
  challenges: Challenges,
  clock: () => number = Date.now,
): Decision {
  const rule = findRule(policy, route)
  if (rule === undefined) return decideUnmapped(policy, route, auth, challenges)
  if (rule.public) return allow(auth, [])
  if (auth === undefined) return deny('token_missing', challenges.missing)

  const granted = expandScopes(policy, auth.scopes)
  const violations: Violation[] = []
  const routeEnforced = rule.mode === 'enforce'
  let missing: readonly string[] = []
  const stepUpFailure =
    rule.stepUp === undefined ? undefined : checkStepUp(rule.stepUp, auth, clock)
  if (stepUpFailure !== undefined) {
    violations.push({
      type: 'insufficient_user_authentication',
      mode: rule.mode,
      enforced: routeEnforced,
      expected: { acr: rule.stepUp?.acr ?? null, maxAge: rule.stepUp?.maxAge ?? null },
      seen: { acr: auth.claims['acr'] ?? null, auth_time: auth.claims['auth_time'] ?? null },
    })
  }
  if (rule.requirement !== undefined && !satisfies(rule.requirement, granted)) {
    missing = missingScopes(rule.requirement, granted)
    violations.push({
      type: 'insufficient_scope',
      mode: rule.mode,
      enforced: routeEnforced,
      expected: rule.requirement.source,
      seen: [...auth.scopes],
    })
  }
  for (const condition of rule.conditions) {
    const seen = Object.hasOwn(auth.claims, condition.claim)
      ? auth.claims[condition.claim]
      : undefined
    if (!holds(condition, seen, route.params)) {
      violations.push({
        type: 'condition_failed',
        mode: rule.mode,
        enforced: routeEnforced,
        expected: condition,
        seen,
      })
    }
  }
  checkBaseline(policy, auth, violations)
  checkContract(policy, rule, granted, auth, violations)

  if (!violations.some((v) => v.enforced)) return allow(auth, violations)
  if (stepUpFailure !== undefined && rule.stepUp !== undefined && routeEnforced) {
    return deny(
      'authentication_insufficient',
      challenges.insufficientAuthentication(rule.stepUp, stepUpFailure),
      { auth, violations },
    )
  }
  const scopeFailure = violations.some((v) => v.enforced && v.type === 'insufficient_scope')
  if (scopeFailure && rule.requirement !== undefined) {
    return deny('scope_insufficient', challenges.insufficientScope(rule.requirement), {
      auth,
      missingScopes: missing,
      violations,
    })
  }
  return deny('policy_denied', challenges.forbidden, { auth, violations })
}

/** The template in decisions about requests that no route dispatched and no rule names. */
export const UNROUTED = '<unrouted>'

/**
 * Judges a request that no route dispatches — a handler mounted outside the routers, static
 * files, or nothing at all — by the policy: by every rule whose method and template match its
 * path ({@link CompiledPolicy.matchRules}; it is allowed only if each allows), or, when no rule
 * matches, as unmapped (`defaults.unmatched`). Returns the decision and the rule it names.
 *
 * @example
 * const { decision } = decideUnrouted(policy, 'GET', '/static/app.js', auth, challenges)
 */
export function decideUnrouted(
  policy: CompiledPolicy,
  method: string,
  path: string,
  auth: AuthInfo | undefined,
  challenges: Challenges,
  clock: () => number = Date.now,
): { decision: Decision; rule: CompiledRoute | undefined } {
  const matched = policy.matchRules(method, path)
  if (matched.length === 0) {
    const route = { method, template: UNROUTED, params: {} }
    return { decision: decideUnmapped(policy, route, auth, challenges), rule: undefined }
  }
  let allowed: { decision: Decision; rule: CompiledRoute } | undefined
  for (const { rule, params } of matched) {
    const decision = decideRoute(
      policy,
      { method: rule.method, template: rule.path, params },
      auth,
      challenges,
      clock,
    )
    if (!decision.allowed) return { decision, rule }
    allowed ??= { decision, rule }
  }
  return allowed as { decision: Decision; rule: CompiledRoute }
}

function decideUnmapped(
  policy: CompiledPolicy,
  route: DispatchedRoute,
  auth: AuthInfo | undefined,
  challenges: Challenges,
): Decision {
  if (auth === undefined) return deny('token_missing', challenges.missing)
  if (policy.defaults.unmatched === 'allow') return allow(auth, [])
  const mode = policy.defaults.mode
  const violation: Violation = {
    type: 'unmapped_route',
    mode,
    enforced: mode === 'enforce',
    expected: 'a rule in the policy',
    seen: `${route.method} ${route.template}`,
  }
  if (!violation.enforced) return allow(auth, [violation])
  return deny('route_unmapped', challenges.forbidden, { auth, violations: [violation] })
}

function checkBaseline(policy: CompiledPolicy, auth: AuthInfo, violations: Violation[]): void {
  const clientId = auth.clientId
  const client = clientId === undefined ? undefined : policy.clients.get(clientId)
  if (client !== undefined) {
    // Scopes held through an elevation grant are granted on purpose, not over-scoping.
    // (A loop that allocates only when it finds one: this runs on every request.)
    const elevated = auth.elevation?.scopes
    let extra: string[] | undefined
    for (const scope of auth.scopes) {
      if (!client.allow.has(scope) && elevated?.includes(scope) !== true) (extra ??= []).push(scope)
    }
    if (extra !== undefined) {
      violations.push({
        type: 'over_scope',
        mode: client.mode,
        enforced: client.mode === 'enforce' && client.onOverScope === 'block',
        expected: [...client.allow],
        seen: extra,
      })
    }
    return
  }
  const action = policy.defaults.unknownClients
  if (policy.clients.size === 0 || action === 'allow') return
  violations.push({
    type: 'unknown_client',
    mode: policy.defaults.mode,
    enforced: action === 'block' && policy.defaults.mode === 'enforce',
    expected: [...policy.clients.keys()],
    seen: clientId ?? null,
  })
}

function checkContract(
  policy: CompiledPolicy,
  rule: CompiledRoute,
  granted: ReadonlySet<string>,
  auth: AuthInfo,
  violations: Violation[],
): void {
  const contract = auth.clientId === undefined ? undefined : policy.contracts.get(auth.clientId)
  if (contract === undefined || rule.requirement === undefined) return
  // The scopes this call uses: the alternative of the route's requirement that the token satisfies.
  const used =
    rule.requirement.alternatives.find((alternative) => alternative.every((s) => granted.has(s))) ??
    rule.requirement.alternatives[0] ??
    []
  let outside: string[] | undefined
  for (const scope of used) if (!contract.allow.has(scope)) (outside ??= []).push(scope)
  if (outside === undefined) return
  violations.push({
    type: 'outside_contract',
    mode: contract.mode,
    enforced: contract.mode === 'enforce',
    expected: { contract: contract.name, stage: contract.stage, allow: [...contract.allow] },
    seen: outside,
  })
}

/**
 * Which part of a step-up requirement (RFC 9470) the token fails, if any: `acr` when its
 * `acr` claim is not one of the accepted values, `max_age` when its `auth_time` is missing,
 * not a number, or older than `maxAge` seconds by `clock` (epoch milliseconds).
 *
 * @example
 * checkStepUp({ acr: ['phr'], maxAge: undefined }, auth, Date.now) // => 'acr' | 'max_age' | undefined
 */
export function checkStepUp(
  requirement: StepUpRequirement,
  auth: AuthInfo,
  clock: () => number,
): 'acr' | 'max_age' | undefined {
  const acr = auth.claims['acr']
  if (requirement.acr !== undefined && !(typeof acr === 'string' && requirement.acr.includes(acr)))
    return 'acr'
  if (requirement.maxAge === undefined) return undefined
  const authTime = auth.claims['auth_time']
  if (typeof authTime !== 'number' || !Number.isFinite(authTime)) return 'max_age'
  return clock() / 1000 - authTime > requirement.maxAge ? 'max_age' : undefined
}

function holds(
  condition: RouteCondition,
  seen: unknown,
  params: DispatchedRoute['params'],
): boolean {
  if ('equalsParam' in condition) {
    const raw = params[condition.equalsParam]
    const param = Array.isArray(raw) ? raw.join('/') : (raw as string | undefined)
    return (
      param !== undefined &&
      (typeof seen === 'string' || typeof seen === 'number') &&
      String(seen) === param
    )
  }
  if ('equals' in condition) return seen === condition.equals
  return condition.in.some((value) => value === seen)
}

function allow(auth: AuthInfo | undefined, violations: readonly Violation[]): Decision {
  const reason = auth === undefined ? 'anonymous' : 'allowed'
  // Two literals rather than a conditional spread: no scratch object on every request.
  return violations.length === 0
    ? { allowed: true, status: 200, reason, auth }
    : { allowed: true, status: 200, reason, auth, violations }
}

/**
 * The token's own scopes that a satisfied requirement used: those in the alternative it
 * satisfied, and those that imply one of its scopes (a token's `write:items` is used by a
 * `read:items` call). This is what the usage inventory counts as used.
 */
export function usedScopes(
  policy: CompiledPolicy | undefined,
  requirement: ScopeRequirement,
  auth: AuthInfo,
): readonly string[] {
  // Memoized per granted scope set and policy, like expandScopes.
  let known = expansions.get(auth.scopes)
  if (known === undefined || known.policy !== policy) {
    if (policy !== undefined) expandScopes(policy, auth.scopes)
    else expansions.set(auth.scopes, { policy, expanded: auth.scopes, used: new Map() })
    known = expansions.get(auth.scopes)
  }
  let used = known?.used.get(requirement)
  if (used === undefined) {
    used = Object.freeze(computeUsedScopes(policy, requirement, auth))
    known?.used.set(requirement, used)
  }
  return used
}

function computeUsedScopes(
  policy: CompiledPolicy | undefined,
  requirement: ScopeRequirement,
  auth: AuthInfo,
): string[] {
  const granted = policy === undefined ? auth.scopes : expandScopes(policy, auth.scopes)
  const alternative = requirement.alternatives.find((candidate) =>
    candidate.every((s) => granted.has(s)),
  )
  if (alternative === undefined) return []
  // A needed scope the token holds itself is what was used; only a scope it lacks counts as
  // used through the broader scopes that imply it (so an over-broad grant still shows unused).
  const used = new Set<string>()
  for (const needed of alternative) {
    if (auth.scopes.has(needed)) {
      used.add(needed)
      continue
    }
    for (const scope of auth.scopes)
      if (policy?.closure.get(scope)?.has(needed) === true) used.add(scope)
  }
  return [...used]
}
