import {
  expandScopes,
  missingScopes,
  type AuthInfo,
  type CompiledPolicy,
  type CompiledRoute,
  type RouteCondition,
  type StepUpRequirement,
  type Violation,
} from '@scopeguard/core'
import type { Step } from './explain-request.js'
import type { RouteMatch } from './route-match.js'

// The steps of an explanation, in the order the middleware takes them. Each verdict comes
// from the violations of core's decision; the details are computed with core's functions.

/**
 * The route step: the rule found for the dispatched route, how (HEAD → GET, ALL), the other
 * rules that match too; or why there is none.
 *
 * @example
 * routeStep(policy, matchRoute(policy, 'HEAD', '/items'), 'HEAD').detail // => 'rule GET /items; HEAD runs the GET handlers, …'
 */
export function routeStep(policy: CompiledPolicy, match: RouteMatch, method: string): Step {
  const { dispatched, rule } = match
  const params = Object.entries(dispatched.params)
    .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
    .join(', ')
  if (rule === undefined) {
    const others =
      match.rulesAtTemplate.length > 0
        ? `the policy has ${match.rulesAtTemplate.join(', ')}, no rule for ${method}`
        : `no rule's template matches the path`
    const unmatched = policy.defaults.unmatched
    return {
      step: 'route',
      verdict: unmatched === 'deny' ? 'fail' : 'info',
      detail:
        `${others}. The request is unmapped (defaults.unmatched: ${unmatched}), whether the app ` +
        `serves it with a route, with middleware, or not at all`,
    }
  }
  const how =
    dispatched.method !== method
      ? `; ${method} runs the ${dispatched.method} handlers, so the ${dispatched.method} rule judges it`
      : rule.method === 'ALL' && method !== 'ALL'
        ? `; no ${method} rule, so the ALL rule judges it`
        : ''
  const also =
    match.alsoMatching.length === 0
      ? ''
      : `; ${match.alsoMatching.join(', ')} matches too: the router dispatches to whichever route the app registers first`
  const with_ = params === '' ? '' : ` (params ${params})`
  return { step: 'route', verdict: 'info', detail: `rule ${rule.key}${with_}${how}${also}` }
}

/**
 * The step of a request with a token on a route without a rule: `defaults.unmatched` decides.
 *
 * @example
 * unmappedStep(policy, decision.violations ?? []).verdict // => 'fail' under unmatched: deny
 */
export function unmappedStep(policy: CompiledPolicy, violations: readonly Violation[]): Step {
  const violation = violations.find((v) => v.type === 'unmapped_route')
  if (violation === undefined)
    return {
      step: 'unmapped',
      verdict: 'pass',
      detail: 'defaults.unmatched: allow lets any valid token through',
    }
  return {
    step: 'unmapped',
    verdict: violation.enforced ? 'fail' : 'record',
    detail: `a route without a rule is denied (defaults.unmatched: deny, ${modeText(violation, policy.defaults.mode)})`,
  }
}

/**
 * The token's scopes, and those it holds through `implies` (core's expandScopes).
 *
 * @example
 * scopesStep(policy, auth).detail // => 'the token has write:items; through implies also read:items'
 */
export function scopesStep(policy: CompiledPolicy, auth: AuthInfo): Step {
  const granted = [...auth.scopes]
  const implied = [...expandScopes(policy, auth.scopes)].filter((scope) => !auth.scopes.has(scope))
  return {
    step: 'scopes',
    verdict: 'info',
    detail:
      (granted.length === 0 ? 'the token has no scope' : `the token has ${granted.join(' ')}`) +
      (implied.length === 0 ? '' : `; through implies also ${implied.join(' ')}`),
  }
}

/**
 * The rule's step-up requirement (RFC 9470): the token's `acr` and `auth_time` against the
 * rule's `acr` and `maxAge`.
 *
 * @example
 * stepUpStep(rule.stepUp, auth, violations, rule.mode).detail // => 'acr "phr" is one of phr; auth_time …'
 */
export function stepUpStep(
  requirement: StepUpRequirement,
  auth: AuthInfo,
  violations: readonly Violation[],
  mode: string,
): Step {
  const asked = [
    requirement.acr === undefined ? undefined : `acr one of ${requirement.acr.join(' ')}`,
    requirement.maxAge === undefined ? undefined : `auth_time at most ${requirement.maxAge} s ago`,
  ].filter((part) => part !== undefined)
  const seen = `the token has acr ${JSON.stringify(auth.claims['acr'] ?? null)}, auth_time ${JSON.stringify(auth.claims['auth_time'] ?? null)}`
  const violation = violations.find((v) => v.type === 'insufficient_user_authentication')
  if (violation === undefined)
    return { step: 'step-up', verdict: 'pass', detail: `${asked.join(', ')}: ${seen}` }
  return {
    step: 'step-up',
    verdict: violation.enforced ? 'fail' : 'record',
    detail: `${asked.join(', ')}: not met, ${seen} (mode ${mode}${violation.enforced ? ': 401 insufficient_user_authentication' : ': recorded, let through'})`,
  }
}

/**
 * The rule's requirement: the alternative that satisfied it, or what the closest one misses.
 *
 * @example
 * requirementStep(policy, auth, violations, rule.requirement, rule.mode).verdict // => 'pass'
 */
export function requirementStep(
  policy: CompiledPolicy,
  auth: AuthInfo,
  violations: readonly Violation[],
  requirement: CompiledRoute['requirement'],
  mode: string,
): Step {
  if (requirement === undefined)
    return { step: 'requirement', verdict: 'skip', detail: 'the rule requires no scope' }
  const granted = expandScopes(policy, auth.scopes)
  const violation = violations.find((v) => v.type === 'insufficient_scope')
  if (violation === undefined) {
    const used = requirement.alternatives.find((alternative) =>
      alternative.every((s) => granted.has(s)),
    )
    return {
      step: 'requirement',
      verdict: 'pass',
      detail: `${requirement.source}: satisfied by ${(used ?? []).join(' and ')}`,
    }
  }
  const missing = missingScopes(requirement, granted)
  return {
    step: 'requirement',
    verdict: violation.enforced ? 'fail' : 'record',
    detail: `${requirement.source}: not satisfied, missing ${missing.join(' and ')} (mode ${mode}${violation.enforced ? '' : ': recorded, let through'})`,
  }
}

/**
 * One condition of the rule: the claim the token has, and what it must be.
 *
 * @example
 * conditionStep(condition, auth, match, violations).detail // => 'claim tenant is "a", must equal param tenantId ("b")'
 */
export function conditionStep(
  condition: RouteCondition,
  auth: AuthInfo,
  match: RouteMatch,
  violations: readonly Violation[],
): Step {
  const violation = violations.find(
    (v) => v.type === 'condition_failed' && v.expected === condition,
  )
  const claim = Object.hasOwn(auth.claims, condition.claim)
    ? auth.claims[condition.claim]
    : undefined
  const seen = `claim ${condition.claim} is ${claim === undefined ? 'absent' : JSON.stringify(claim)}`
  const wanted =
    'equalsParam' in condition
      ? `must equal param ${condition.equalsParam} (${JSON.stringify(match.dispatched.params[condition.equalsParam] ?? null)})`
      : 'equals' in condition
        ? `must equal ${JSON.stringify(condition.equals)}`
        : `must be one of ${condition.in.map((value) => JSON.stringify(value)).join(', ')}`
  return {
    step: 'condition',
    verdict: violation === undefined ? 'pass' : violation.enforced ? 'fail' : 'record',
    detail: `${seen}, ${wanted}${violation === undefined ? '' : violation.enforced ? '' : ' (monitor mode: recorded)'}`,
  }
}

/**
 * The client's baseline: over-scope and unknown-client violations, with their action and mode.
 *
 * @example
 * baselineStep(policy, auth, violations).verdict // => 'record' for an onOverScope: alert
 */
export function baselineStep(
  policy: CompiledPolicy,
  auth: AuthInfo,
  violations: readonly Violation[],
): Step {
  const over = violations.find((v) => v.type === 'over_scope')
  const unknown = violations.find((v) => v.type === 'unknown_client')
  const client = auth.clientId === undefined ? undefined : policy.clients.get(auth.clientId)
  const who = auth.clientId === undefined ? 'the token names no client' : `client ${auth.clientId}`
  if (over !== undefined && client !== undefined) {
    return {
      step: 'baseline',
      verdict: over.enforced ? 'fail' : 'record',
      detail:
        `${who} may hold ${[...client.allow].join(' ')}; the token also has ${(over.seen as string[]).join(' ')} ` +
        `(onOverScope ${client.onOverScope}, ${modeText(over, client.mode)})`,
    }
  }
  if (unknown !== undefined) {
    return {
      step: 'baseline',
      verdict: unknown.enforced ? 'fail' : 'record',
      detail: `${who} has no baseline (defaults.unknownClients: ${policy.defaults.unknownClients}, ${modeText(unknown, policy.defaults.mode)})`,
    }
  }
  if (client !== undefined)
    return { step: 'baseline', verdict: 'pass', detail: `${who} may hold every scope of the token` }
  return {
    step: 'baseline',
    verdict: 'skip',
    detail:
      policy.clients.size === 0
        ? 'the policy has no baselines'
        : `${who} has no baseline (defaults.unknownClients: allow)`,
  }
}

/**
 * The client's ramp contract at its current stage: whether the call's scopes are inside it.
 *
 * @example
 * contractStep(policy, auth, violations).detail // => 'contract billing-rollout, stage read-only (enforce) allows read:items: …'
 */
export function contractStep(
  policy: CompiledPolicy,
  auth: AuthInfo,
  violations: readonly Violation[],
): Step {
  const contract = auth.clientId === undefined ? undefined : policy.contracts.get(auth.clientId)
  if (contract === undefined)
    return { step: 'contract', verdict: 'skip', detail: 'no ramp contract for this client' }
  const where = `contract ${contract.name}, stage ${contract.stage} (${contract.mode}) allows ${[...contract.allow].join(' ')}`
  const outside = violations.find((v) => v.type === 'outside_contract')
  if (outside === undefined)
    return { step: 'contract', verdict: 'pass', detail: `${where}: the call is inside` }
  return {
    step: 'contract',
    verdict: outside.enforced ? 'fail' : 'record',
    detail: `${where}: the call uses ${(outside.seen as string[]).join(' ')}, outside the stage${outside.enforced ? '' : ' (monitor stage: recorded, let through)'}`,
  }
}

function modeText(violation: Violation, mode: string): string {
  return violation.enforced ? `mode ${mode}: denied` : `mode ${mode}: recorded, let through`
}
