import { randomUUID } from 'node:crypto'
import type { Decision } from './decision.js'
import type { DecisionEvent } from './events.js'

/** Where a decision was made: the request, and the route template once dispatched. */
export interface DecisionContext {
  readonly method: string
  readonly path?: string | undefined
  readonly route?: string | undefined
  /** The requirement judged (policy rule or `requireScopes`). */
  readonly required?: string | undefined
}

const MAX_PATH = 256

/**
 * Builds the versioned record of a decision. Only called when someone listens (`onEvent`),
 * so auditing that is off costs nothing. The raw token never appears; the request path,
 * which the client controls, is truncated.
 */
export function recordDecision(
  decision: Decision,
  context: DecisionContext,
  policyVersion: string | undefined,
): DecisionEvent {
  const auth = decision.auth
  const violations = decision.violations ?? []
  return {
    type: 'decision',
    v: 1,
    decisionId: randomUUID(),
    time: new Date().toISOString(),
    allowed: decision.allowed,
    status: decision.status,
    reason: decision.reason,
    mode: violations.some((v) => v.mode === 'monitor' && !v.enforced) ? 'monitor' : 'enforce',
    method: context.method,
    path: context.path === undefined ? undefined : context.path.slice(0, MAX_PATH),
    route: context.route,
    policyVersion,
    clientId: auth?.clientId,
    subject: auth?.subject,
    tokenId: auth?.token.id,
    scopes: auth === undefined ? [] : [...auth.scopes],
    required: context.required,
    missing: decision.allowed ? [] : decision.missingScopes,
    rejection: decision.allowed ? undefined : decision.rejection,
    violations,
    elevated: auth?.elevation?.scopes ?? [],
    ...(auth?.binding === undefined ? {} : { binding: auth.binding }),
  }
}
