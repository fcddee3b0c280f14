import {
  createTemplateMatcher,
  type CompiledPolicy,
  type CompiledRoute,
  type DispatchedRoute,
} from '@scopeguard/core'
import { inputError, usageError } from './errors.js'

/** The route a request would be dispatched to, found from the policy's own templates. */
export interface RouteMatch {
  /** What core's decideRoute is given: the method whose handlers run, template, params. */
  readonly dispatched: DispatchedRoute
  /** The rule that judges it (core findRule would find the same), or undefined: unmapped. */
  readonly rule: CompiledRoute | undefined
  /** Whether the template was given (`--route`, a case's `request.route`) or matched. */
  readonly given: boolean
  /** Whether some rule's template matches the path, whatever its method. */
  readonly templateMatches: boolean
  /** Keys of rules that match the request too but were not chosen (the first one wins). */
  readonly alsoMatching: readonly string[]
  /** Keys of the rules at the chosen template. */
  readonly rulesAtTemplate: readonly string[]
}

/**
 * Finds the route a request would be dispatched to and the rule that judges it, without the
 * app: the concrete path is matched against the policy's route templates with core's
 * createTemplateMatcher (path-to-regexp 8, case-insensitive, a trailing slash allowed, as
 * Express 5 and @koa/router match by default), in the order the policy lists them. For a
 * template, the rule is the method's own, else for HEAD the GET rule (the router runs the GET
 * handlers), else the `ALL` rule. With `template` given, that template is the dispatched
 * route. The running middleware judges the route the router really dispatched instead.
 *
 * @example
 * matchRoute(policy, 'HEAD', '/items/3').dispatched // => { method: 'GET', template: '/items/:id', params: { id: '3' } }
 */
export function matchRoute(
  policy: CompiledPolicy,
  method: string,
  rawPath: string,
  template?: string,
): RouteMatch {
  const path = rawPath.replace(/[?#].*$/s, '')
  if (!path.startsWith('/'))
    throw usageError(`the path must start with "/": ${JSON.stringify(rawPath)}`)
  const byTemplate = new Map<string, CompiledRoute[]>()
  for (const rule of policy.routes.values()) {
    byTemplate.set(rule.path, [...(byTemplate.get(rule.path) ?? []), rule])
  }
  if (template !== undefined) {
    const params = paramsOf(template, path)
    if (params === undefined)
      throw inputError(`the path ${path} does not match the route template ${template}`)
    const rules = byTemplate.get(template) ?? []
    const found = ruleFor(rules, method)
    return {
      dispatched: { method: found?.method ?? method, template, params },
      rule: found?.rule,
      given: true,
      templateMatches: rules.length > 0,
      alsoMatching: [],
      rulesAtTemplate: rules.map((rule) => rule.key),
    }
  }
  const candidates = [...byTemplate.entries()].flatMap(([candidate, rules]) => {
    const params = paramsOf(candidate, path)
    return params === undefined ? [] : [{ template: candidate, rules, params }]
  })
  const applicable = candidates.flatMap((candidate) => {
    const found = ruleFor(candidate.rules, method)
    return found === undefined ? [] : [{ ...candidate, ...found }]
  })
  const chosen = applicable[0]
  if (chosen !== undefined) {
    return {
      dispatched: { method: chosen.method, template: chosen.template, params: chosen.params },
      rule: chosen.rule,
      given: false,
      templateMatches: true,
      alsoMatching: applicable.slice(1).map((other) => other.rule.key),
      rulesAtTemplate: chosen.rules.map((rule) => rule.key),
    }
  }
  const nearest = candidates[0]
  return {
    dispatched: {
      method,
      template: nearest?.template ?? path,
      params: nearest?.params ?? {},
    },
    rule: undefined,
    given: false,
    templateMatches: nearest !== undefined,
    alsoMatching: [],
    rulesAtTemplate: nearest?.rules.map((rule) => rule.key) ?? [],
  }
}

function paramsOf(template: string, path: string): Record<string, string | string[]> | undefined {
  try {
    return createTemplateMatcher(template).params(path)
  } catch (error) {
    throw inputError(`the route template ${template} does not compile`, error)
  }
}

/** The rule of a template that judges `method`, and the method whose handlers run. */
function ruleFor(
  rules: readonly CompiledRoute[],
  method: string,
): { rule: CompiledRoute; method: string } | undefined {
  const own = rules.find((rule) => rule.method === method)
  if (own !== undefined) return { rule: own, method }
  const get = method === 'HEAD' ? rules.find((rule) => rule.method === 'GET') : undefined
  if (get !== undefined) return { rule: get, method: 'GET' }
  const all = rules.find((rule) => rule.method === 'ALL')
  return all === undefined ? undefined : { rule: all, method }
}
