import type { CompiledPolicy, Locate, PolicyDocument, PolicyProblem } from '@scopeguard/core'

/** The review warnings of `scopeguard validate`, by name (for `--skip`). */
export const LINT_RULES = [
  'broad-read-requirement',
  'unused-baseline-scope',
  'wildcard-scope',
  'monitor-mode',
] as const

export type LintRule = (typeof LINT_RULES)[number]

/** A review warning: a policy problem with the lint rule that found it. */
export interface LintWarning extends PolicyProblem {
  readonly severity: 'warning'
  readonly rule: LintRule
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])
const WRITE_WORDS = new Set([
  'write',
  'delete',
  'create',
  'update',
  'remove',
  'destroy',
  'modify',
  'edit',
  'manage',
  'admin',
  'purge',
])

/**
 * What a reviewer wants flagged in a valid policy, beyond core's checks: a read-only route
 * (GET, HEAD, OPTIONS) whose every alternative needs a write-like or umbrella scope, a
 * baseline scope no route requires, catalog scopes named like wildcards (scopeguard has
 * none), and rules left in monitor mode. Rules in `skip` are not run.
 *
 * @example
 * lintPolicy(document, policy, locate, 'scopeguard.policy.yaml', new Set()).map(formatProblem)
 */
export function lintPolicy(
  document: PolicyDocument,
  policy: CompiledPolicy,
  locate: Locate,
  file: string,
  skip: ReadonlySet<string>,
): LintWarning[] {
  const warnings: LintWarning[] = []
  const warn = (rule: LintRule, pointer: string, message: string, part?: 'key'): void => {
    if (!skip.has(rule))
      warnings.push({ severity: 'warning', file, ...locate(pointer, part), pointer, message, rule })
  }
  lintRoutes(document, policy, warn)
  lintBaselines(document, policy, warn)
  lintCatalog(document, warn)
  return warnings
}

type Warn = (rule: LintRule, pointer: string, message: string, part?: 'key') => void

function lintRoutes(document: PolicyDocument, policy: CompiledPolicy, warn: Warn): void {
  const defaultMode = document.defaults?.mode
  if (defaultMode === 'monitor') {
    warn(
      'monitor-mode',
      '/defaults/mode',
      'every rule, baseline and stage without its own mode is in monitor mode: violations are ' +
        'recorded and let through; set "mode: enforce" once the decision records are clean',
    )
  }
  for (const [key, written] of Object.entries(document.routes)) {
    const rule = policy.routes.get(normalizeKey(key))
    if (rule === undefined) continue
    const isObject = typeof written === 'object' && !Array.isArray(written)
    const pointer = pointerOf('routes', key)
    if (isObject && (written as { mode?: string }).mode === 'monitor') {
      warn(
        'monitor-mode',
        `${pointer}/mode`,
        `${key} is in monitor mode: a request that breaks the rule is recorded and let ` +
          'through; switch to enforce once the decision records are clean',
      )
    }
    const requirement = rule.requirement
    if (requirement === undefined || !SAFE_METHODS.has(rule.method)) continue
    const broad = (scope: string): boolean =>
      isWriteLike(scope) || [...(policy.closure.get(scope) ?? [])].some(isWriteLike)
    if (!requirement.alternatives.every((alternative) => alternative.some(broad))) continue
    const first = requirement.alternatives[0] ?? []
    const culprits = first.filter(broad)
    const reads = [
      ...new Set(
        culprits.flatMap((scope) =>
          [...(policy.closure.get(scope) ?? [])].filter((s) => s !== scope && !broad(s)),
        ),
      ),
    ]
    const hint =
      reads.length === 0
        ? 'require a read scope'
        : `require ${words(reads, 'or')} (tokens with ${words(culprits, 'or')} still pass, through implies)`
    warn(
      'broad-read-requirement',
      isObject ? `${pointer}/require` : pointer,
      `${key} requires ${words(culprits, 'and')}, which ${culprits.length === 1 ? 'grants' : 'grant'} ` +
        `write access, but ${rule.method} only reads: ${hint}`,
    )
  }
}

function lintBaselines(document: PolicyDocument, policy: CompiledPolicy, warn: Warn): void {
  const required = new Set(
    [...policy.routes.values()].flatMap((rule) => rule.requirement?.alternatives.flat() ?? []),
  )
  if (required.size === 0) return
  for (const [clientId, client] of Object.entries(document.clients ?? {})) {
    client.allow.forEach((scope, index) => {
      const grants = policy.closure.get(scope) ?? new Set([scope])
      if ([...grants].some((s) => required.has(s))) return
      warn(
        'unused-baseline-scope',
        `${pointerOf('clients', clientId)}/allow/${index}`,
        `client ${JSON.stringify(clientId)} may hold ${JSON.stringify(scope)}, but no route of ` +
          'the policy requires it or a scope it implies: remove it from the baseline ' +
          '(requireScopes() in the code is not seen here)',
      )
    })
  }
}

function lintCatalog(document: PolicyDocument, warn: Warn): void {
  for (const scope of Object.keys(document.scopes)) {
    if (!isWildcardLike(scope)) continue
    warn(
      'wildcard-scope',
      pointerOf('scopes', scope),
      `scope ${JSON.stringify(scope)} looks like a wildcard, but scopeguard compares scopes ` +
        'exactly: it grants itself and what its "implies" lists, nothing more; list what it ' +
        'grants in "implies", or replace it with precise scopes',
      'key',
    )
  }
}

/**
 * Whether a scope's name says it writes: a word of it (split at `:`, `.`, `/`, `_`, `-`) is
 * write, delete, create, update, remove, destroy, modify, edit, manage, admin or purge.
 *
 * @example
 * isWriteLike('items.delete') // => true
 */
export function isWriteLike(scope: string): boolean {
  return scope
    .toLowerCase()
    .split(/[-:./_]+/)
    .some((word) => WRITE_WORDS.has(word))
}

/**
 * Whether a scope's name looks like a wildcard: it holds `*`, or ends in `all`, `any` or `full`.
 *
 * @example
 * isWildcardLike('items:*') // => true
 */
export function isWildcardLike(scope: string): boolean {
  return scope.includes('*') || /(^|[:./_-])(all|any|full)$/i.test(scope)
}

/** `"GET /items"` for a route key whose method may be written in lower case. */
function normalizeKey(key: string): string {
  const space = key.indexOf(' ')
  return `${key.slice(0, space).toUpperCase()} ${key.slice(space + 1)}`
}

/** The JSON pointer (RFC 6901) of a member of a top-level map. */
function pointerOf(member: string, key: string): string {
  return `/${member}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`
}

function words(list: readonly string[], last: 'and' | 'or'): string {
  const quoted = list.map((word) => JSON.stringify(word))
  return quoted.length <= 1
    ? quoted.join('')
    : `${quoted.slice(0, -1).join(', ')} ${last} ${quoted.at(-1) ?? ''}`
}
