import type { Token } from 'path-to-regexp'
import type { Reporter } from './check-report.js'
import type { RoutePath } from './check-route-path.js'

/** Sample paths tried per pair of routes when looking for a request both match. */
const MAX_SAMPLES = 64

/**
 * Reports, for each method (`ALL` is its own: `ALL /x` beside `GET /x` is allowed), routes
 * that are the same route (an error: paths equal but for parameter names, which the routers
 * compile to the same regular expression), the same route under the routers' default
 * leniency (case, a trailing `/`; a warning), or that can match the same request, found by
 * trying sample paths of each against the other (a warning: the router dispatches to the
 * first route the app registers, so which rule applies depends on that order). Each problem
 * is placed at the later of the two routes.
 */
export function checkRouteOverlaps(routes: readonly RoutePath[], report: Reporter): void {
  const shapes = new Map(routes.map((route) => [route, shapeOf(route)]))
  const sources = new Map<string, RoutePath>()
  const looseSources = new Map<string, RoutePath>()
  // Candidates for an overlap, by method: routes whose paths all begin with a whole literal
  // segment are filed under those segments (two routes whose first segments differ can never
  // match one request); the others (a parameter in the first segment) meet every route.
  // This keeps a policy of thousands of routes from comparing every pair.
  const bySegment = new Map<string, { index: number; route: RoutePath }[]>()
  const open = new Map<string, { index: number; route: RoutePath }[]>()
  const listOf = (map: Map<string, { index: number; route: RoutePath }[]>, key: string) => {
    let list = map.get(key)
    if (list === undefined) map.set(key, (list = []))
    return list
  }
  routes.forEach((later, j) => {
    const shape = shapes.get(later) as Shape
    const sameKey = `${later.method} ${later.source}`
    const looseKey = `${later.method} ${later.looseSource}`
    const same = sources.get(sameKey)
    const alike = looseSources.get(looseKey)
    if (!sources.has(sameKey)) sources.set(sameKey, later)
    if (!looseSources.has(looseKey)) looseSources.set(looseKey, later)
    const candidates = [
      ...(open.get(later.method) ?? []),
      ...(shape.segments === undefined
        ? [...bySegment]
            .filter(([key]) => key.startsWith(`${later.method} `))
            .flatMap(([, list]) => list)
        : shape.segments.flatMap((segment) => bySegment.get(`${later.method} ${segment}`) ?? [])),
    ]
    if (shape.segments === undefined) listOf(open, later.method).push({ index: j, route: later })
    else
      for (const segment of shape.segments)
        listOf(bySegment, `${later.method} ${segment}`).push({ index: j, route: later })
    if (same !== undefined) {
      report.error(
        later.pointer,
        `duplicate route: the same as ${JSON.stringify(same.key)} (parameter names do not ` +
          'matter to the router); merge the two rules',
        'key',
      )
      return
    }
    if (alike !== undefined) {
      report.warning(
        later.pointer,
        `matches the same requests as ${JSON.stringify(alike.key)}: the routers ignore case, ` +
          'and Express a trailing "/", unless the app turns on case-sensitive or strict ' +
          'routing; merge the two rules',
        'key',
      )
      return
    }
    // In registration order, each earlier route once: the first overlap found is reported.
    const earlier = [...new Map(candidates.map((c) => [c.index, c.route]))]
      .sort(([a], [b]) => a - b)
      .map(([, route]) => route)
    for (const route of earlier) {
      const [a, b] = [shapes.get(route), shape] as [Shape, Shape]
      const sample = sharedPath(a, b) ?? sharedPath(b, a)
      if (sample === undefined) continue
      report.warning(
        later.pointer,
        `can match the same request as ${JSON.stringify(route.key)} (e.g. ` +
          `${JSON.stringify(sample)}): the router dispatches it to whichever route the app ` +
          'registers first, and that rule applies; make sure this is intended, or make the ' +
          'paths distinct',
        'key',
      )
      return
    }
  })
}

/** What the sample search needs of a route, computed once per route. */
interface Shape {
  readonly route: RoutePath
  /** Each combination of optional groups with its text before the first parameter. */
  readonly sequences: readonly { readonly tokens: readonly Token[]; readonly prefix: string }[]
  /** `x` and the words of its literal text, to fill other routes' parameters with. */
  readonly words: readonly string[]
  /**
   * The first path segment of each combination, lower case, when every combination starts
   * with a whole literal segment; undefined when one starts with a parameter.
   */
  readonly segments: readonly string[] | undefined
}

function shapeOf(route: RoutePath): Shape {
  const words = route.sequences.flatMap((tokens) =>
    tokens.flatMap((token) => (token.type === 'text' ? token.value.split('/') : [])),
  )
  const sequences = route.sequences.map((tokens) => ({ tokens, prefix: literalPrefix(tokens) }))
  const segments = sequences.map(({ tokens, prefix }) => firstSegment(tokens, prefix))
  return {
    route,
    sequences,
    words: [...new Set(['x', ...words])].filter((word) => word !== ''),
    segments: segments.some((segment) => segment === undefined)
      ? undefined
      : [...new Set(segments as string[])],
  }
}

/**
 * The first segment of a combination when its literal text covers it whole (`/items/:id` →
 * `items`, `/items` → `items`); undefined when a parameter may extend it (`/:tenant/x`,
 * `/items-:id`) or the path is `/` alone.
 */
function firstSegment(tokens: readonly Token[], prefix: string): string | undefined {
  const rest = prefix.startsWith('/') ? prefix.slice(1) : prefix
  const slash = rest.indexOf('/')
  if (slash > 0) return rest.slice(0, slash)
  const literalOnly = tokens.every((token) => token.type === 'text')
  return literalOnly && rest !== '' ? rest : undefined
}

/**
 * A path that `from` and `to` both match, if one is found among sample paths of `from`:
 * each parameter filled with `x` or a literal word of `to`, so `/items/:id` yields
 * `/items/new` against `/items/new`. Combinations whose literal prefixes differ are skipped.
 */
function sharedPath(from: Shape, to: Shape): string | undefined {
  let tried = 0
  for (const { tokens, prefix } of from.sequences) {
    const agree = to.sequences.some(
      (other) => prefix.startsWith(other.prefix) || other.prefix.startsWith(prefix),
    )
    if (!agree) continue
    for (const sample of samples(tokens, to.words)) {
      if (++tried > MAX_SAMPLES) return undefined
      if (to.route.regexp.test(sample)) return sample
    }
  }
  return undefined
}

/** The text before the first parameter, in lower case (the routers ignore case). */
function literalPrefix(tokens: readonly Token[]): string {
  let prefix = ''
  for (const token of tokens) {
    if (token.type !== 'text') break
    prefix += token.value
  }
  return prefix.toLowerCase()
}

/** Sample paths of a token list, each capture filled with one of `words` in turn. */
function* samples(tokens: readonly Token[], words: readonly string[]): Generator<string> {
  const fill = function* (index: number, path: string): Generator<string> {
    const token = tokens[index]
    if (token === undefined) {
      yield path
      return
    }
    if (token.type === 'text') {
      yield* fill(index + 1, path + token.value)
      return
    }
    for (const word of words) yield* fill(index + 1, path + word)
  }
  yield* fill(0, '')
}
