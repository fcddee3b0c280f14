import { randomFillSync } from 'node:crypto'
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

/**
 * Random (version 4) UUIDs for decision ids, as `crypto.randomUUID` makes them (16 bytes of
 * `randomFillSync` each), but 512 ids per call (a call costs about as much as 128 ids'
 * bytes) and written as text at once: each id is then a slice of a string of 8 ids, where
 * `randomUUID` joins 20 pieces per id (about 500 bytes of garbage per record, and a rope that
 * writing the line flattens). The strings are short, so that a record kept for long keeps
 * little more than its own id alive.
 */
const IDS = 512
const IDS_PER_TEXT = 8
const idBytes = Buffer.alloc(16 * IDS)
const idText = Buffer.alloc(36 * IDS)
const HEX = Buffer.from('0123456789abcdef', 'latin1')
let ids = ''
let nextId = IDS
const decisionId = (): string => {
  if (nextId === IDS) {
    randomFillSync(idBytes)
    let at = 0
    for (let from = 0; from < idBytes.length; from += 16) {
      idBytes[from + 6] = ((idBytes[from + 6] as number) & 0x0f) | 0x40 // version 4
      idBytes[from + 8] = ((idBytes[from + 8] as number) & 0x3f) | 0x80 // RFC 9562 variant
      for (let i = 0; i < 16; i++) {
        if (i === 4 || i === 6 || i === 8 || i === 10) idText[at++] = 0x2d // '-'
        const byte = idBytes[from + i] as number
        idText[at++] = HEX[byte >> 4] as number
        idText[at++] = HEX[byte & 15] as number
      }
    }
    nextId = 0
  }
  const at = 36 * (nextId % IDS_PER_TEXT)
  if (at === 0) {
    const start = 36 * nextId
    ids = idText.toString('latin1', start, start + 36 * IDS_PER_TEXT)
  }
  nextId++
  return ids.slice(at, at + 36)
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
  return new DecisionRecord(decision, context, policyVersion, auth, violations)
}

type Fields = { -readonly [K in keyof DecisionEvent]: DecisionEvent[K] }

/**
 * The record's constructor: its prototype is the marker {@link DECISION_RECORD}, which has no
 * `constructor` of its own, so readers still see `constructor === Object`. A constructor sets
 * the prototype with the object's map (an object literal with `__proto__` costs a run-time
 * call per record), and assigns the fields in DecisionEvent's order.
 */
const DecisionRecord = function (
  this: Fields,
  decision: Decision,
  context: DecisionContext,
  policyVersion: string | undefined,
  auth: Decision['auth'],
  violations: Violations,
) {
  this.type = 'decision'
  this.v = 1
  this.decisionId = decisionId()
  this.time = isoNow()
  this.allowed = decision.allowed
  this.status = decision.status
  this.reason = decision.reason
  this.mode =
    violations.length > 0 && violations.some((v) => v.mode === 'monitor' && !v.enforced)
      ? 'monitor'
      : 'enforce'
  this.method = context.method
  this.path = context.path === undefined ? undefined : context.path.slice(0, MAX_PATH)
  this.route = context.route
  this.policyVersion = policyVersion
  this.clientId = auth?.clientId
  this.subject = auth?.subject
  this.tokenId = auth?.token.id
  this.scopes = auth === undefined ? NONE : scopeList(auth.scopes)
  this.required = context.required
  this.missing = decision.allowed ? NONE : decision.missingScopes
  this.rejection = decision.allowed ? undefined : decision.rejection
  this.violations = violations
  this.elevated = auth?.elevation?.scopes ?? NONE
  // Added last, as DecisionEvent declares it (absent for bearer tokens).
  if (auth?.binding !== undefined) this.binding = auth.binding
} as unknown as new (
  decision: Decision,
  context: DecisionContext,
  policyVersion: string | undefined,
  auth: Decision['auth'],
  violations: Violations,
) => DecisionEvent
DecisionRecord.prototype = DECISION_RECORD
type Violations = DecisionEvent['violations']
