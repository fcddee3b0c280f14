import { ScopeguardConfigError } from '../errors.js'
import { compileRequirement } from '../scopes/compile-requirement.js'
import { isScopeToken } from '../scopes/scope-token.js'
import { didYouMean, entriesOf, isRecord, listWords, type Reporter } from './check-report.js'
import { checkRoutePath, type RoutePath } from './check-route-path.js'
import { checkScopeReference } from './check-scopes.js'
import { childPointer, toPointer } from './source-pointer.js'

/**
 * Checks every route rule: its path compiles for the routers, its requirement compiles and
 * names scopes of the catalog, it is either public or requires something (not both), and
 * its conditions name parameters of its path. Returns the routes whose path compiled, for
 * the overlap checks.
 */
export function checkRoutes(
  routes: unknown,
  catalog: ReadonlySet<string>,
  report: Reporter,
): RoutePath[] {
  const paths: RoutePath[] = []
  for (const [key, rule] of entriesOf(routes)) {
    const pointer = toPointer('routes', key)
    const path = checkRoutePath(key, pointer, report)
    if (path !== undefined) paths.push(path)
    if (!isRecord(rule)) {
      checkRequirement(rule, pointer, catalog, report)
      continue
    }
    const isPublic = rule.public === true
    const requires = Object.hasOwn(rule, 'require')
    const conditions = Object.hasOwn(rule, 'conditions')
    if (isPublic && requires) {
      report.error(
        childPointer(pointer, 'require'),
        'a public route needs no token, so it cannot require scopes: remove "require" or "public: true"',
      )
    }
    if (isPublic && conditions) {
      report.error(
        childPointer(pointer, 'conditions'),
        'a public route has no token to check conditions on: remove "conditions" or "public: true"',
      )
    }
    for (const member of ['acr', 'maxAge']) {
      if (isPublic && Object.hasOwn(rule, member)) {
        report.error(
          childPointer(pointer, member),
          `a public route has no token to check the user's authentication on: remove "${member}" or "public: true"`,
        )
      }
    }
    if (!isPublic && !requires) {
      report.error(
        pointer,
        `route ${JSON.stringify(key)} requires nothing: add "require: <scopes>", ` +
          'or "public: true" if it needs no token',
      )
    }
    if (requires) checkRequirement(rule.require, childPointer(pointer, 'require'), catalog, report)
    if (path !== undefined && Array.isArray(rule.conditions)) {
      checkConditions(rule.conditions, path, childPointer(pointer, 'conditions'), report)
    }
  }
  return paths
}

/** A requirement compiles (see compileRequirement) and names only scopes of the catalog. */
function checkRequirement(
  value: unknown,
  pointer: string,
  catalog: ReadonlySet<string>,
  report: Reporter,
): void {
  if (typeof value === 'string') {
    if (value === '') return // the schema reports it
    let scopes: string[]
    try {
      scopes = [...new Set(compileRequirement(value).alternatives.flat())]
    } catch (error) {
      if (!(error instanceof ScopeguardConfigError)) throw error
      report.error(pointer, error.message)
      return
    }
    for (const scope of scopes) checkScopeReference(scope, catalog, pointer, report)
  } else if (Array.isArray(value)) {
    // Entries that are not scope tokens, and an empty list, are the schema's to report.
    if (value.length === 0 || !value.every((s) => typeof s === 'string' && isScopeToken(s))) return
    try {
      compileRequirement(value as string[])
    } catch (error) {
      if (!(error instanceof ScopeguardConfigError)) throw error
      report.error(pointer, error.message)
      return
    }
    value.forEach((scope: string, index) =>
      checkScopeReference(scope, catalog, childPointer(pointer, index), report),
    )
  }
}

/** Each `equalsParam` names a parameter (or wildcard) of the route's path. */
function checkConditions(
  conditions: readonly unknown[],
  path: RoutePath,
  pointer: string,
  report: Reporter,
): void {
  conditions.forEach((condition, index) => {
    if (!isRecord(condition) || typeof condition.equalsParam !== 'string') return
    const param = condition.equalsParam
    if (param === '' || path.params.has(param)) return
    const has = path.params.size === 0 ? 'it has none' : `it has ${listWords([...path.params])}`
    report.error(
      pointer + toPointer(index, 'equalsParam'),
      `route path ${JSON.stringify(path.path)} has no parameter ${JSON.stringify(param)}` +
        `${didYouMean(param, path.params)} (${has}): name one of its parameters`,
    )
  })
}
