import type { CompiledPolicy } from '@scopeguard/core'
import type { AppRoute } from './load-app.js'

/** An app route and the rule that judges it (null: none, the route is unmapped). */
export interface RouteCoverage {
  readonly method: string
  readonly path: string
  readonly rule: string | null
  /** Why a route is not covered, or what the policy has that looks alike. */
  readonly note?: string
}

/** What `scopeguard coverage` finds. */
export interface CoverageReport {
  readonly routes: readonly RouteCoverage[]
  readonly uncovered: readonly RouteCoverage[]
  /** Rules no route of the app is judged by. */
  readonly unusedRules: readonly { readonly rule: string; readonly note: string }[]
}

const UNPLACED = '<unplaced>'

/**
 * Compares the routes an app registers with the rules of a policy, as the middleware looks
 * rules up (core findRule): a route is judged by the rule of its method and exact template,
 * else by the template's `ALL` rule; a route registered with `all()` needs an `ALL` rule
 * (any method reaches it); HEAD runs GET handlers, so a GET route needs no HEAD rule (an
 * explicit HEAD route needs its own or `ALL`). A route the adapter cannot place
 * (`<unplaced>`) can never be covered. A rule is unused when no route of the app is judged
 * by it.
 *
 * @example
 * compareCoverage(policy, [{ method: 'GET', path: '/items' }]).uncovered // => []
 */
export function compareCoverage(
  policy: CompiledPolicy,
  appRoutes: readonly AppRoute[],
): CoverageReport {
  const seen = new Set<string>()
  const routes: RouteCoverage[] = []
  for (const route of appRoutes) {
    const key = `${route.method} ${route.path}`
    if (seen.has(key)) continue
    seen.add(key)
    routes.push(coverRoute(policy, route))
  }
  return {
    routes,
    uncovered: routes.filter((route) => route.rule === null),
    unusedRules: unusedRules(policy, routes),
  }
}

function coverRoute(policy: CompiledPolicy, route: AppRoute): RouteCoverage {
  const { method, path } = route
  if (path === UNPLACED) {
    return {
      method,
      path,
      rule: null,
      note: 'a RegExp path or mount: no template a policy can name, so it is always denied as unmapped',
    }
  }
  const all = policy.routes.get(`ALL ${path}`)
  const own = method === 'ALL' ? undefined : policy.routes.get(`${method} ${path}`)
  const rule = own ?? all
  if (rule !== undefined) return { method, path, rule: rule.key }
  const atPath = [...policy.routes.values()].filter((r) => r.path === path).map((r) => r.key)
  const alike = [...policy.routes.values()]
    .filter(
      (r) =>
        (r.method === method || r.method === 'ALL') &&
        r.path !== path &&
        shape(r.path) === shape(path),
    )
    .map((r) => r.key)
  const note =
    alike.length > 0
      ? `the policy has ${alike.join(', ')}: the middleware looks rules up by the exact template, parameter names included`
      : method === 'ALL' && atPath.length > 0
        ? `registered for every method, but the policy has only ${atPath.join(', ')}: other methods are unmapped; add an ALL rule`
        : undefined
  return note === undefined ? { method, path, rule: null } : { method, path, rule: null, note }
}

function unusedRules(
  policy: CompiledPolicy,
  routes: readonly RouteCoverage[],
): { rule: string; note: string }[] {
  const judging = new Set(routes.map((route) => route.rule).filter((rule) => rule !== null))
  const unused: { rule: string; note: string }[] = []
  for (const rule of policy.routes.values()) {
    const methods = new Set(routes.filter((route) => route.path === rule.path).map((r) => r.method))
    // A route registered for every method (all()) reaches its method's rule first.
    const used =
      rule.method === 'ALL' ? judging.has(rule.key) : methods.has(rule.method) || methods.has('ALL')
    if (used) continue
    const alike = routes.find(
      (route) => route.path !== rule.path && shape(route.path) === shape(rule.path),
    )
    const note =
      methods.size > 0
        ? rule.method === 'HEAD'
          ? 'the app has no HEAD route here: HEAD requests run the GET handlers and are judged by the GET rule'
          : `the app serves ${[...methods].join(', ')} here, each judged by its own rule`
        : alike !== undefined
          ? `the app registers ${alike.method} ${alike.path}: write the template exactly as the router does`
          : 'no route of the app has this template'
    unused.push({ rule: rule.key, note })
  }
  return unused
}

/** A template with parameter names, case and a trailing slash taken out: `/items/:`. */
function shape(path: string): string {
  return path
    .replace(/([:*])(?:[A-Za-z_$][\w$]*|"(?:[^"\\]|\\.)*")/g, '$1')
    .replace(/\/$/, '')
    .toLowerCase()
}
