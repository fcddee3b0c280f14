import { createHash } from 'node:crypto'
import { compileRequirement } from '../scopes/compile-requirement.js'
import { createTemplateMatcher, type TemplateMatcher } from './match-template.js'
import type {
  CompiledClient,
  CompiledContract,
  CompiledPolicy,
  CompiledRoute,
  MatchedRule,
  Mode,
  PolicyDocument,
  RouteRuleObject,
} from './types.js'

/**
 * Compiles a validated policy document into the immutable artifact the request path
 * evaluates: rules by `"METHOD /path"` key with their requirements compiled once, the
 * catalog's `implies` closure, baselines as sets, and each contract at its current stage.
 * The version is a hash of the source text, so every decision can name the policy it was
 * made under.
 *
 * @example
 * const policy = compilePolicy(loadPolicyDocument(text), text, 'scopeguard.policy.yaml')
 * policy.routes.get('GET /items')?.requirement?.source // => 'read:items'
 */
export function compilePolicy(
  document: PolicyDocument,
  text: string,
  file?: string,
): CompiledPolicy {
  const defaults = {
    unmatched: document.defaults?.unmatched ?? 'deny',
    mode: document.defaults?.mode ?? 'enforce',
    onOverScope: document.defaults?.onOverScope ?? 'alert',
    unknownClients: document.defaults?.unknownClients ?? 'allow',
  } as const
  const closure = compileClosure(document)
  const routes = compileRoutes(document, defaults.mode)
  // Baselines and stages are closed under `implies`: allowing write:items allows what it implies.
  const close = (scopes: readonly string[]): ReadonlySet<string> =>
    new Set(scopes.flatMap((scope) => [...(closure.get(scope) ?? [scope])]))
  return deepFreeze({
    version: policyVersion(text),
    file,
    document,
    defaults,
    closure,
    routes,
    isPublicPath: compilePublicPaths(routes),
    matchRules: compileRuleMatcher(routes),
    clients: new Map(
      Object.entries(document.clients ?? {}).map(([clientId, client]): [string, CompiledClient] => [
        clientId,
        {
          clientId,
          allow: close(client.allow),
          onOverScope: client.onOverScope ?? defaults.onOverScope,
          mode: client.mode ?? defaults.mode,
        },
      ]),
    ),
    contracts: compileContracts(document, defaults.mode, close),
    relaxesDpop: [...routes.values()].some(
      (route) => route.dpop === 'allowed' || route.dpop === 'disabled',
    ),
  })
}

/** The version of a policy source: `sha256:` and the first 16 hex digits of its hash. */
export function policyVersion(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex').slice(0, 16)}`
}

function compileClosure(document: PolicyDocument): ReadonlyMap<string, ReadonlySet<string>> {
  const closure = new Map<string, Set<string>>()
  const visit = (scope: string, into: Set<string>): void => {
    if (into.has(scope)) return // cycles are rejected by the checks; never loop here
    into.add(scope)
    for (const implied of document.scopes[scope]?.implies ?? []) visit(implied, into)
  }
  for (const scope of Object.keys(document.scopes)) {
    const into = new Set<string>()
    visit(scope, into)
    closure.set(scope, into)
  }
  return closure
}

function compileRoutes(
  document: PolicyDocument,
  defaultMode: Mode,
): ReadonlyMap<string, CompiledRoute> {
  const routes = new Map<string, CompiledRoute>()
  for (const [key, rule] of Object.entries(document.routes)) {
    const space = key.indexOf(' ')
    const method = key.slice(0, space).toUpperCase()
    const path = key.slice(space + 1)
    const object: RouteRuleObject =
      typeof rule === 'string' || Array.isArray(rule)
        ? { require: rule as string }
        : (rule as RouteRuleObject)
    routes.set(`${method} ${path}`, {
      method,
      path,
      key: `${method} ${path}`,
      public: object.public === true,
      requirement: object.require === undefined ? undefined : compileRequirement(object.require),
      mode: object.mode ?? defaultMode,
      conditions: object.conditions ?? [],
      dpop: object.dpop,
      stepUp:
        object.acr === undefined && object.maxAge === undefined
          ? undefined
          : { acr: object.acr, maxAge: object.maxAge },
    })
  }
  return routes
}

function compileContracts(
  document: PolicyDocument,
  defaultMode: Mode,
  close: (scopes: readonly string[]) => ReadonlySet<string>,
): ReadonlyMap<string, CompiledContract> {
  const contracts = new Map<string, CompiledContract>()
  for (const [name, contract] of Object.entries(document.contracts ?? {})) {
    const stageIndex = contract.stages.findIndex((stage) => stage.name === contract.stage)
    const stage = contract.stages[stageIndex]
    if (stage === undefined) continue // rejected by the checks
    contracts.set(contract.client, {
      name,
      clientId: contract.client,
      stage: stage.name,
      stageIndex,
      allow: close(stage.allow),
      mode: stage.mode ?? defaultMode,
    })
  }
  return contracts
}

function compilePublicPaths(
  routes: ReadonlyMap<string, CompiledRoute>,
): (method: string, path: string) => boolean {
  const rules = [...routes.values()]
    .filter((route) => route.public)
    .map((route) => ({ method: route.method, test: createTemplateMatcher(route.path) }))
  if (rules.length === 0) return () => false
  return (method, path) =>
    rules.some(
      (rule) =>
        (rule.method === 'ALL' ||
          rule.method === method ||
          (method === 'HEAD' && rule.method === 'GET')) &&
        rule.test(path),
    )
}

/**
 * The rules a request could be judged by when no route dispatches it: those whose method fits
 * (the same, `ALL`, or `GET` for a HEAD request) and whose template matches the whole path,
 * with the path's parameters. Literal templates are more specific than parameterised ones: when
 * a literal template matches, only the literal rules are returned. Rules are indexed by their
 * first path segment (upper-cased, as the case-insensitive matcher compares letters), so a
 * path is tested against the rules of its own first segment and those whose first segment has
 * a parameter, a wildcard or other path syntax.
 */
function compileRuleMatcher(
  routes: ReadonlyMap<string, CompiledRoute>,
): (method: string, path: string) => MatchedRule[] {
  type Entry = { rule: CompiledRoute; literal: boolean; match: TemplateMatcher }
  const bySegment = new Map<string, Entry[]>()
  const anySegment: Entry[] = []
  for (const rule of routes.values()) {
    const entry = {
      rule,
      literal: !/[:*{]/.test(rule.path),
      match: createTemplateMatcher(rule.path),
    }
    const segment = rule.path.startsWith('/') ? firstSegment(rule.path) : undefined
    if (segment === undefined || PATH_SYNTAX.test(segment)) anySegment.push(entry)
    else {
      const key = segment.toUpperCase()
      bySegment.set(key, [...(bySegment.get(key) ?? []), entry])
    }
  }
  return (method, path) => {
    const candidates = bySegment.get(firstSegment(path).toUpperCase()) ?? []
    const found = [...candidates, ...anySegment].filter(
      ({ rule, match }) =>
        (rule.method === 'ALL' ||
          rule.method === method ||
          (method === 'HEAD' && rule.method === 'GET')) &&
        match(path),
    )
    const chosen = found.some((entry) => entry.literal)
      ? found.filter((entry) => entry.literal)
      : found
    return chosen.map(({ rule, match }) => ({ rule, params: match.params(path) ?? {} }))
  }
}

/** Characters with a meaning in a path-to-regexp template, besides plain text. */
const PATH_SYNTAX = /[:*{}()[\]?+!\\]/

/** The first segment of a path, without its slashes (`/items/42` → `items`). */
function firstSegment(path: string): string {
  const end = path.indexOf('/', 1)
  return end === -1 ? path.slice(1) : path.slice(1, end)
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    if (value instanceof Map) {
      for (const entry of value.values()) deepFreeze(entry)
    } else if (!(value instanceof Set)) {
      for (const entry of Object.values(value)) deepFreeze(entry)
    }
  }
  return value
}
