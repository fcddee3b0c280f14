import type { CompiledPolicy } from '@scopeguard/core'
import { toAuthInfo } from './auth-input.js'
import type { ExpectedDecision, PolicyCase } from './case-table.js'
import { explainRequest, type Explanation } from './explain-request.js'
import { matchRoute } from './route-match.js'

/** One comparison of a case: what was expected and what the policy decided. */
export interface CaseCheck {
  readonly what: string
  readonly expected: unknown
  readonly actual: unknown
  readonly ok: boolean
}

/** The outcome of one case. */
export interface CaseResult {
  readonly name: string
  readonly result: 'pass' | 'fail' | 'skip'
  readonly checks: readonly CaseCheck[]
  /** What was not checked, and why. */
  readonly notes: readonly string[]
  readonly explanation: Explanation | undefined
}

const RECORD_MEMBERS = ['reason', 'method', 'mode', 'route', 'required'] as const

/**
 * Runs one case against a compiled policy without an app: the route is matched from the
 * policy's templates (or `request.route`), the token becomes the AuthInfo core's decideRoute
 * judges, and the decision is compared with `expect`: the status and challenge, and the
 * first expected decision record (the route rule's). Later records come from
 * `requireScopes()` in the app and are not checked; when one of them decides the response,
 * the status and challenge are not checked either. A case whose request makes no decision
 * record (`decisions: []`, refused before routing) is skipped.
 *
 * @example
 * runCase(policy, c, 'items-api').result // => 'pass'
 */
export function runCase(policy: CompiledPolicy, c: PolicyCase, realm: string): CaseResult {
  const expected = c.expect.decisions
  if (expected !== undefined && expected.length === 0) {
    return skip(
      c,
      'no decision record expected: the request is refused before routing, which needs the app',
    )
  }
  const method = (c.request.method ?? 'GET').toUpperCase()
  const match = matchRoute(policy, method, c.request.path, c.request.route)
  const auth =
    c.request.token === null
      ? undefined
      : toAuthInfo({
          clientId: c.request.token.client,
          scopes: c.request.token.scopes,
          claims: c.request.token.claims,
        })
  const explanation = explainRequest(policy, match, auth, realm, { method, path: c.request.path })
  const { decision } = explanation
  const checks: CaseCheck[] = []
  const notes: string[] = []
  const check = (what: string, want: unknown, got: unknown) =>
    checks.push({
      what,
      expected: want,
      actual: got,
      ok: JSON.stringify(want) === JSON.stringify(got),
    })
  const later = expected?.slice(1) ?? []
  const appDecides = later.length > 0 && expected?.[0]?.allowed !== false
  if (later.length > 0) {
    notes.push(
      `${later.length} later decision record${later.length === 1 ? '' : 's'} (requireScopes() in the app) not checked` +
        (appDecides ? ', nor the status and challenge they decide' : ''),
    )
  }
  if (!appDecides) {
    if (c.expect.status !== undefined) check('status', c.expect.status, decision.status)
    if (c.expect.challenge !== undefined) {
      const challenge = decision.headers['www-authenticate'] ?? null
      check('challenge', c.expect.challenge, challenge)
      const realm = /realm="([^"]*)"/.exec(c.expect.challenge ?? '')?.[1]
      if (
        realm !== undefined &&
        challenge !== null &&
        challenge !== c.expect.challenge &&
        challenge.replace(/realm="[^"]*"/, `realm="${realm}"`) === c.expect.challenge
      )
        notes.push(
          `the expected challenge has realm "${realm}": pass --realm ${JSON.stringify(realm)}`,
        )
    }
  }
  const first = expected?.[0]
  if (first !== undefined) compareRecord(first, explanation, method, check)
  const result = checks.every((one) => one.ok) ? 'pass' : 'fail'
  return { name: c.name, result, checks, notes, explanation }
}

function compareRecord(
  expected: ExpectedDecision,
  explanation: Explanation,
  method: string,
  check: (what: string, want: unknown, got: unknown) => void,
): void {
  const { decision, route } = explanation
  const record: Record<(typeof RECORD_MEMBERS)[number], unknown> = {
    reason: decision.reason,
    method,
    mode: decision.mode,
    route: route.template,
    required: decision.required,
  }
  check('decision.allowed', expected.allowed, decision.allowed)
  for (const member of RECORD_MEMBERS) {
    if (expected[member] !== undefined)
      check(`decision.${member}`, expected[member], record[member] ?? null)
  }
  if (expected.violations !== undefined) {
    check(
      'decision.violations',
      expected.violations,
      decision.violations.map((v) => v.type),
    )
  }
}

function skip(c: PolicyCase, note: string): CaseResult {
  return { name: c.name, result: 'skip', checks: [], notes: [note], explanation: undefined }
}
