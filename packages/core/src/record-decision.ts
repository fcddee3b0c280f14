import { randomUUID } from 'node:crypto'
import type { Decision } from './decision.js'
import { DECISION_RECORD } from './audit/log-line.js'
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

// Under load many decisions fall in the same millisecond: its ISO 8601 form is built once.
let lastMs = NaN
let lastIso = ''
const isoNow = (): string => {
  const now = Date.now()
  if (now !== lastMs) {
    lastMs = now
    lastIso = new Date(now).toISOString()
  }
  return lastIso
}

/** The empty lists of records: one frozen array, not a new one per record. */
const NONE: readonly never[] = Object.freeze([])

/** A verified token's scopes as a list, built once per token (its scope set is one object). */
const scopeLists = new WeakMap<ReadonlySet<string>, readonly string[]>()
const scopeList = (scopes: ReadonlySet<string>): string[] => {
  let list = scopeLists.get(scopes)
  if (list === undefined) scopeLists.set(scopes, (list = Object.freeze([...scopes])))
  return list as string[]
}

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
  const violations = decision.violations ?? NONE
  const record = {
    // Marks the record as built here, with exactly the fields of DecisionEvent (toLogLine).
    __proto__: DECISION_RECORD,
    type: 'decision',
    v: 1,
    decisionId: randomUUID(),
    time: isoNow(),
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
    scopes: auth === undefined ? NONE : scopeList(auth.scopes),
    required: context.required,
    missing: decision.allowed ? NONE : decision.missingScopes,
    rejection: decision.allowed ? undefined : decision.rejection,
    violations,
    elevated: auth?.elevation?.scopes ?? NONE,
  } as DecisionEvent & { binding?: DecisionEvent['binding'] }
  // Added last, as DecisionEvent declares it (no conditional spread: no scratch object).
  if (auth?.binding !== undefined) record.binding = auth.binding
  return record
}
