import { LineCounter, parseDocument } from 'yaml'
import { inputError } from './errors.js'
import type { Source } from './read-source.js'

/** A token of a case: null (or absent) when the request has none. */
export interface CaseToken {
  readonly client?: string
  readonly scopes: readonly string[]
  readonly claims?: Readonly<Record<string, unknown>>
}

/** What the route rule's decision record must say (the members given are compared). */
export interface ExpectedDecision {
  readonly allowed: boolean
  readonly reason?: string
  readonly method?: string
  readonly mode?: string
  readonly route?: string | null
  readonly required?: string | null
  readonly violations?: readonly string[]
}

/** A case's policy: a name from `policies`, `{ base?, merge }`, or absent (the --policy file). */
export type CasePolicy =
  | string
  | { readonly base?: string; readonly merge?: Readonly<Record<string, unknown>> }
  | undefined

/** One case of the table (test/cases/policy-cases.yaml format). */
export interface PolicyCase {
  readonly name: string
  readonly policy: CasePolicy
  readonly request: {
    readonly method?: string
    readonly path: string
    /** CLI only: the route template the router dispatches to (else matched from the policy). */
    readonly route?: string
    readonly token: CaseToken | null
  }
  readonly expect: {
    readonly status?: number
    readonly challenge?: string | null
    /** The handler that ran: needs the app, not checked. */
    readonly handler?: string | null
    readonly decisions?: readonly ExpectedDecision[]
  }
}

/** A table of policy cases. */
export interface CaseTable {
  readonly policies: Readonly<Record<string, unknown>>
  readonly cases: readonly PolicyCase[]
}

/**
 * Parses a case table in the format of test/cases/policy-cases.yaml: named `policies`, and
 * `cases` of one request each (`policy`, `request: { method, path, token }`, `expect: {
 * status, challenge, decisions }`). A YAML syntax error or a malformed case is an input
 * error naming the file and position (or case) in one line.
 *
 * @example
 * const table = parseCaseTable(await readSource('policy-cases.yaml', cwd))
 */
export function parseCaseTable(source: Source): CaseTable {
  const lineCounter = new LineCounter()
  const doc = parseDocument(source.text, { lineCounter, prettyErrors: false, logLevel: 'silent' })
  const error = doc.errors[0]
  if (error !== undefined) {
    const { line, col } = lineCounter.linePos(error.pos[0])
    throw inputError(
      `${source.name}:${line}:${col}: invalid YAML: ${error.message.split('\n')[0]}`,
      error,
    )
  }
  let value: unknown
  try {
    value = doc.toJS({ maxAliasCount: 1000 })
  } catch (cause) {
    throw inputError(`${source.name}: invalid YAML: ${(cause as Error).message}`, cause)
  }
  return checkTable(source.name, value)
}

function checkTable(file: string, value: unknown): CaseTable {
  const fail = (message: string): never => {
    throw inputError(`${file}: ${message}`)
  }
  if (!isRecord(value)) return fail('expected a mapping with "cases" (and "policies")')
  const policies = value['policies'] ?? {}
  if (!isRecord(policies)) return fail('"policies" must be a mapping of name to policy')
  const cases = value['cases']
  if (!Array.isArray(cases)) return fail('"cases" must be a list')
  const names = new Set<string>()
  cases.forEach((item: unknown, index) => {
    const where = `case ${index + 1}`
    if (!isRecord(item)) return fail(`${where} must be a mapping`)
    if (typeof item['name'] !== 'string') return fail(`${where} has no "name"`)
    const named = `${where} (${JSON.stringify(item['name'])})`
    if (names.has(item['name'])) fail(`${named} is defined twice`)
    names.add(item['name'])
    checkPolicyRef(item['policy'], policies, named, fail)
    const request = item['request']
    if (!isRecord(request) || typeof request['path'] !== 'string')
      return fail(`${named}: request.path must be a string`)
    if (request['method'] !== undefined && typeof request['method'] !== 'string')
      fail(`${named}: request.method must be a string`)
    if (request['route'] !== undefined && typeof request['route'] !== 'string')
      fail(`${named}: request.route must be a string`)
    const token = request['token']
    if (token !== undefined && token !== null) {
      if (
        !isRecord(token) ||
        !Array.isArray(token['scopes']) ||
        !token['scopes'].every((s) => typeof s === 'string')
      )
        fail(`${named}: request.token must be null or { client, scopes: [...], claims }`)
      if (isRecord(token) && token['claims'] !== undefined && !isRecord(token['claims']))
        fail(`${named}: request.token.claims must be a mapping`)
    }
    const expect = item['expect']
    if (!isRecord(expect)) return fail(`${named}: expect must be a mapping`)
    if (expect['status'] !== undefined && typeof expect['status'] !== 'number')
      fail(`${named}: expect.status must be a number`)
    if (expect['decisions'] !== undefined) {
      const decisions = expect['decisions']
      if (
        !Array.isArray(decisions) ||
        !decisions.every((d) => isRecord(d) && typeof d['allowed'] === 'boolean')
      )
        fail(`${named}: expect.decisions must be a list of { allowed, … }`)
    }
    if (
      expect['status'] === undefined &&
      expect['challenge'] === undefined &&
      expect['decisions'] === undefined
    )
      fail(`${named}: expect needs status, challenge or decisions`)
  })
  return {
    policies,
    cases: (cases as Record<string, unknown>[]).map((item) => {
      const request = item['request'] as Record<string, unknown>
      return {
        ...item,
        request: { ...request, token: request['token'] ?? null },
      } as unknown as PolicyCase
    }),
  }
}

function checkPolicyRef(
  ref: unknown,
  policies: Record<string, unknown>,
  named: string,
  fail: (message: string) => never,
): void {
  if (ref === undefined) return
  const base = typeof ref === 'string' ? ref : isRecord(ref) ? ref['base'] : null
  if (base === null || (base !== undefined && typeof base !== 'string'))
    fail(`${named}: policy must be a name from "policies" or { base, merge }`)
  if (typeof base === 'string' && !Object.hasOwn(policies, base))
    fail(`${named} names an unknown policy ${JSON.stringify(base)}`)
  if (isRecord(ref) && ref['merge'] !== undefined && !isRecord(ref['merge']))
    fail(`${named}: policy.merge must be a mapping`)
}

/**
 * Whether a parsed YAML value is a mapping (not a list, not null).
 *
 * @example
 * isRecord({ path: '/items' }) // => true
 */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
