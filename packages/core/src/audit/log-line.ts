import type { DecisionEvent, ScopeguardEvent } from '../events.js'

/**
 * The prototype of the decision records the guard builds (`recordDecision`). It adds nothing
 * (a record is a plain object to every reader: `JSON.stringify`, `structuredClone`, deep
 * equality) but tells {@link toLogLine} that the record has exactly the fields of
 * {@link DecisionEvent}, in their order, so that its line can be written field by field.
 */
export const DECISION_RECORD: object = Object.create(Object.prototype) as object

/**
 * Formats an event as one JSON line with the fields log shippers and pino users expect:
 * `level` (pino numbers: 30 info for allowed decisions and policy loads, 40 warn for denials,
 * violations, first use and rejected policies), `time` (the event's time, in epoch ms), `msg`,
 * then the event's other fields in their order.
 */
export function toLogLine(event: ScopeguardEvent): string {
  // A decision is recorded on every request: its line is written field by field (3–7 times
  // faster than copying the event and serializing the copy), and is the same text.
  if (Object.getPrototypeOf(event) === DECISION_RECORD) return decisionLine(event as DecisionEvent)
  const warn =
    event.type === 'violation' ||
    event.type === 'first_use' ||
    (event.type === 'decision' && !event.allowed) ||
    (event.type === 'policy' && event.action === 'rejected')
  const line: Record<string, unknown> = {
    level: warn ? 40 : 30,
    time: epochMs(event.time),
    msg: `scopeguard ${event.type}`,
  }
  for (const key in event) {
    if (key !== 'time') line[key] = (event as unknown as Record<string, unknown>)[key]
  }
  return `${JSON.stringify(line)}\n`
}

/**
 * The line of a decision record, as `JSON.stringify` of the generic form would write it. The
 * members whose values repeat from request to request (the same token, route, policy) are
 * kept as text, `,"key":value`, so that most of a line is a handful of cached pieces; every
 * field is still read from the record (a listener may have changed it).
 */
function decisionLine(e: DecisionEvent): string {
  return (
    (e.type === 'decision' && e.v === 1
      ? headText(e.allowed, e.time)
      : (e.allowed ? '{"level":30,"time":' : '{"level":40,"time":') +
        timeText(e.time) +
        member('type', e.type) +
        member('v', e.v)) +
    stringMember(',"decisionId":"', 'decisionId', e.decisionId) +
    (e.allowed === true && e.status === 200
      ? ',"allowed":true,"status":200'
      : member('allowed', e.allowed) + member('status', e.status)) +
    (e.reason === lastReason && e.mode === lastMode && e.method === lastMethod
      ? lastHow
      : howText(e)) +
    stringMember(',"path":"', 'path', e.path) +
    routes.text(e.route) +
    policyVersions.text(e.policyVersion) +
    tokenText(e) +
    requirements.text(e.required) +
    (isEmpty(e.missing) &&
    e.rejection === undefined &&
    isEmpty(e.violations) &&
    isEmpty(e.elevated) &&
    e.binding === undefined
      ? ',"missing":[],"violations":[],"elevated":[]}\n'
      : listMember('missing', e.missing) +
        member('rejection', e.rejection) +
        listMember('violations', e.violations) +
        listMember('elevated', e.elevated) +
        member('binding', e.binding) +
        '}\n')
  )
}

/**
 * One flat string of the parts: V8 keeps a concatenation as a tree of its parts, which every
 * `join` of a line holding it walks again; a text kept for many lines is made flat once.
 */
const flat = (...parts: string[]): string => parts.join('')

/**
 * The `,"key":value` texts of one member's recent string values: the last one, and up to
 * `limit` others (the map starts over when full, so memory stays bounded).
 */
class MemberTexts {
  private readonly prefix: string
  private readonly texts = new Map<string, string>()
  private last: unknown = undefined
  private lastText = ''

  constructor(
    private readonly key: string,
    private readonly limit: number,
  ) {
    this.prefix = `,"${key}":`
  }

  text(value: unknown): string {
    if (value === this.last) return this.lastText
    if (typeof value !== 'string' || value.length > 256) return member(this.key, value)
    let text = this.texts.get(value)
    if (text === undefined) {
      text = flat(this.prefix, json(value) as string)
      if (this.texts.size >= this.limit) this.texts.clear()
      this.texts.set(value, text)
    }
    this.last = value
    this.lastText = text
    return text
  }
}

const reasons = new MemberTexts('reason', 64)
const modes = new MemberTexts('mode', 4)
const methods = new MemberTexts('method', 32)
const routes = new MemberTexts('route', 4096)
const policyVersions = new MemberTexts('policyVersion', 16)
const clientIds = new MemberTexts('clientId', 1024)
const subjects = new MemberTexts('subject', 1024)
const tokenIds = new MemberTexts('tokenId', 1024)
const requirements = new MemberTexts('required', 4096)

const isEmpty = (list: unknown): boolean => Array.isArray(list) && list.length === 0

/**
 * `,"clientId":…,"subject":…,"tokenId":…,"scopes":[…]`: one text per verified token, kept with
 * the token's scope list (one frozen list per token) while the other three stay the same.
 */
const tokenText = (e: DecisionEvent): string => {
  const { clientId, subject, tokenId, scopes } = e
  const kept = Array.isArray(scopes) && Object.isFrozen(scopes) ? tokenTexts.get(scopes) : undefined
  if (
    kept !== undefined &&
    kept.clientId === clientId &&
    kept.subject === subject &&
    kept.tokenId === tokenId
  ) {
    return kept.text
  }
  const text = flat(
    clientIds.text(clientId),
    subjects.text(subject),
    tokenIds.text(tokenId),
    listMember('scopes', scopes),
  )
  // Kept for scope lists whose text is kept (frozen, of strings only), and for members that
  // are strings (an object a listener put there could change in place).
  if (
    Array.isArray(scopes) &&
    scopeTexts.has(scopes) &&
    plainOrAbsent(clientId, subject, tokenId)
  ) {
    tokenTexts.set(scopes, { clientId, subject, tokenId, text })
  }
  return text
}
const plainOrAbsent = (...values: unknown[]): boolean =>
  values.every((value) => value === undefined || typeof value === 'string')
const tokenTexts = new WeakMap<
  readonly unknown[],
  { clientId: unknown; subject: unknown; tokenId: unknown; text: string }
>()

/** `,"key":[...]` of a list: empty lists, and frozen string lists (a token's scopes) once. */
const listMember = (key: string, value: unknown): string => {
  if (!Array.isArray(value)) return member(key, value)
  if (value.length === 0) return EMPTY_LISTS[key] ?? `,"${key}":[]`
  if (key !== 'scopes' || !Object.isFrozen(value)) return member(key, value)
  let text = scopeTexts.get(value)
  if (text === undefined) {
    text = flat(member(key, value))
    if (value.every((item) => typeof item === 'string')) scopeTexts.set(value, text)
  }
  return text
}
const EMPTY_LISTS: Readonly<Record<string, string>> = {
  scopes: ',"scopes":[]',
  missing: ',"missing":[]',
  violations: ',"violations":[]',
  elevated: ',"elevated":[]',
}
/** The `,"scopes":[...]` text of frozen scope lists: one list per verified token. */
const scopeTexts = new WeakMap<readonly unknown[], string>()

/**
 * `{"level":…,"time":…,"msg":"scopeguard decision","type":"decision","v":1`: the start of
 * every line of the millisecond, allowed or denied, as one text.
 */
const headText = (allowed: boolean, iso: string): string => {
  if (iso !== lastHeadIso) {
    const rest = flat(timeText(iso), ',"type":"decision","v":1')
    lastHeads = [flat('{"level":30,"time":', rest), flat('{"level":40,"time":', rest)]
    lastHeadIso = iso
  }
  return lastHeads[allowed ? 0 : 1] as string
}
let lastHeadIso = ''
let lastHeads: readonly string[] = []

/** `,"reason":…,"mode":…,"method":…`, as one text while the three stay the same. */
const howText = (e: DecisionEvent): string => {
  const { reason, mode, method } = e
  const text = flat(reasons.text(reason), modes.text(mode), methods.text(method))
  // Kept for strings only (an object a listener put there could change in place).
  const kept = typeof reason === 'string' && typeof mode === 'string' && typeof method === 'string'
  lastReason = kept ? reason : NOT_KEPT
  lastMode = mode
  lastMethod = method
  lastHow = text
  return text
}
const NOT_KEPT = Symbol('not kept')
let lastReason: unknown = undefined
let lastMode: unknown = undefined
let lastMethod: unknown = undefined
let lastHow = ''

/** `<epoch ms>,"msg":"scopeguard decision"` of a record's time, built once per millisecond. */
const timeText = (iso: string): string => {
  if (iso !== lastTimeIso) {
    lastTimeText = flat(json(epochMs(iso)) ?? 'null', ',"msg":"scopeguard decision"')
    lastTimeIso = iso
  }
  return lastTimeText
}
let lastTimeIso = ''
let lastTimeText = ''

/** `,"key":value`, or nothing for an undefined value (as `JSON.stringify` leaves it out). */
const member = (key: string, value: unknown): string => {
  const text = value === undefined ? undefined : json(value)
  return text === undefined ? '' : `,"${key}":${text}`
}

/** `,"key":"value"` of a string that needs no escapes, in two concatenations; else `member`. */
const stringMember = (opening: string, key: string, value: unknown): string =>
  typeof value === 'string' && value.length <= 256 && PLAIN.test(value)
    ? opening + value + '"'
    : member(key, value)

/** Characters a JSON string holds as they are: printable ASCII but `"` and `\`. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/
/** The JSON of frozen string lists: a token's scope list is one per verified token. */
const frozenLists = new WeakMap<readonly unknown[], string>()

/** `JSON.stringify(value)`, with shortcuts for the values a decision holds. */
function json(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return value.length <= 256 && PLAIN.test(value) ? `"${value}"` : JSON.stringify(value)
    case 'boolean':
      return value ? 'true' : 'false'
    case 'object':
      if (Array.isArray(value)) {
        if (value.length === 0) return '[]'
        if (Object.isFrozen(value)) {
          let text = frozenLists.get(value)
          if (text === undefined) {
            text = JSON.stringify(value)
            if (value.every((item) => typeof item === 'string')) frozenLists.set(value, text)
          }
          return text
        }
      }
      return JSON.stringify(value)
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null'
    default:
      // undefined for functions and symbols, which JSON leaves out
      return JSON.stringify(value) as string | undefined
  }
}

// Under load many events fall in the same millisecond: its ISO time is parsed once.
let lastIso = ''
let lastMs = NaN
const epochMs = (iso: string): number => {
  if (iso !== lastIso) {
    lastMs = Date.parse(iso)
    lastIso = iso
  }
  return lastMs
}
