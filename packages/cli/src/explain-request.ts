import {
  createChallenges,
  decideRoute,
  type AuthInfo,
  type CompiledPolicy,
  type Decision,
  type Violation,
} from '@scopeguard/core'
import {
  baselineStep,
  conditionStep,
  contractStep,
  requirementStep,
  routeStep,
  scopesStep,
  stepUpStep,
  unmappedStep,
} from './explain-steps.js'
import type { RouteMatch } from './route-match.js'

/** How one step of a decision came out. `record`: broken, in monitor mode or alert: let through. */
export type Verdict = 'pass' | 'fail' | 'record' | 'skip' | 'info'

/** One step of a decision, in the order the middleware takes them. */
export interface Step {
  readonly step:
    | 'route'
    | 'token'
    | 'unmapped'
    | 'scopes'
    | 'step-up'
    | 'requirement'
    | 'condition'
    | 'baseline'
    | 'contract'
  readonly verdict: Verdict
  readonly detail: string
}

/** A decision of core's decideRoute, and why, step by step. */
export interface Explanation {
  readonly request: { readonly method: string; readonly path: string }
  readonly token: {
    readonly clientId: string | null
    readonly scopes: readonly string[]
    readonly claims: Readonly<Record<string, unknown>>
  } | null
  readonly route: {
    readonly method: string
    readonly template: string
    readonly params: Readonly<Record<string, unknown>>
    readonly rule: string | null
    readonly given: boolean
    readonly alsoMatching: readonly string[]
  }
  readonly steps: readonly Step[]
  readonly decision: {
    readonly allowed: boolean
    readonly status: number
    readonly reason: string
    readonly code: string | null
    /** As a decision record has it: `monitor` when a violation was let through by monitor mode. */
    readonly mode: 'enforce' | 'monitor'
    readonly required: string | null
    readonly headers: Readonly<Record<string, string>>
    readonly missingScopes: readonly string[]
    readonly violations: readonly Violation[]
  }
}

/**
 * Judges one request with core's decideRoute, as the middleware would for the dispatched
 * route, and explains the decision: the rule found, the token's scopes closed under
 * `implies`, the requirement, each condition, the client's baseline and contract stage,
 * and the mode of each violation. The verdict of every step is read from the decision's
 * violations, so the explanation cannot disagree with the decision.
 *
 * @example
 * explainRequest(policy, matchRoute(policy, 'GET', '/items'), toAuthInfo(token), 'api').decision.status // => 200
 */
export function explainRequest(
  policy: CompiledPolicy,
  match: RouteMatch,
  auth: AuthInfo | undefined,
  realm: string,
  request: { readonly method: string; readonly path: string },
): Explanation {
  const decision = decideRoute(policy, match.dispatched, auth, createChallenges(realm))
  const violations = decision.violations ?? []
  const steps: Step[] = [routeStep(policy, match, request.method)]
  const rule = match.rule
  if (rule?.public === true) {
    steps.push({
      step: 'token',
      verdict: 'pass',
      detail: 'a public route needs no token and checks no scope',
    })
  } else if (auth === undefined) {
    steps.push({ step: 'token', verdict: 'fail', detail: 'no token: the route needs one (401)' })
  } else if (rule === undefined) {
    steps.push(unmappedStep(policy, violations))
  } else {
    steps.push(scopesStep(policy, auth))
    if (rule.stepUp !== undefined) steps.push(stepUpStep(rule.stepUp, auth, violations, rule.mode))
    steps.push(requirementStep(policy, auth, violations, rule.requirement, rule.mode))
    for (const condition of rule.conditions)
      steps.push(conditionStep(condition, auth, match, violations))
    steps.push(baselineStep(policy, auth, violations))
    steps.push(contractStep(policy, auth, violations))
  }
  return {
    request,
    token:
      auth === undefined
        ? null
        : { clientId: auth.clientId ?? null, scopes: [...auth.scopes], claims: auth.claims },
    route: {
      method: match.dispatched.method,
      template: match.dispatched.template,
      params: match.dispatched.params,
      rule: rule?.key ?? null,
      given: match.given,
      alsoMatching: match.alsoMatching,
    },
    steps,
    decision: summarize(decision, rule?.requirement?.source ?? null),
  }
}

function summarize(decision: Decision, required: string | null): Explanation['decision'] {
  const violations = decision.violations ?? []
  return {
    allowed: decision.allowed,
    status: decision.status,
    reason: decision.reason,
    code: decision.allowed ? null : decision.code,
    mode: violations.some((v) => v.mode === 'monitor' && !v.enforced) ? 'monitor' : 'enforce',
    required,
    headers: decision.allowed ? {} : decision.headers,
    missingScopes: decision.allowed ? [] : decision.missingScopes,
    violations,
  }
}
