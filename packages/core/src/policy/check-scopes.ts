import { isScopeToken } from '../scopes/scope-token.js'
import { didYouMean, entriesOf, isRecord, stringsOf, type Reporter } from './check-report.js'
import { toPointer } from './source-pointer.js'

/** The names of the catalog (`scopes`), in the order they are written. */
export function catalogOf(document: Readonly<Record<string, unknown>>): ReadonlySet<string> {
  return new Set(entriesOf(document.scopes).map(([name]) => name))
}

/** Reports a scope that the catalog does not list, at `pointer`. */
export function checkScopeReference(
  scope: string,
  catalog: ReadonlySet<string>,
  pointer: string,
  report: Reporter,
): void {
  if (catalog.has(scope) || !isScopeToken(scope)) return // the schema reports a malformed scope
  report.error(
    pointer,
    `scope ${JSON.stringify(scope)} is not in the catalog${didYouMean(scope, catalog)}: ` +
      'add it under "scopes" or fix the name',
  )
}

/**
 * Checks the catalog: every `implies` names a scope of the catalog, and implications form
 * no cycle (each cycle is reported once, as `a → b → a`, where its first scope is written).
 */
export function checkCatalog(
  scopes: unknown,
  catalog: ReadonlySet<string>,
  report: Reporter,
): void {
  const edges = new Map<string, { target: string; index: number }[]>()
  for (const [name, scope] of entriesOf(scopes)) {
    const implied = isRecord(scope) ? stringsOf(scope.implies) : []
    for (const [index, target] of implied) {
      checkScopeReference(target, catalog, toPointer('scopes', name, 'implies', index), report)
    }
    edges.set(
      name,
      implied
        .filter(([, target]) => catalog.has(target))
        .map(([index, target]) => ({ target, index })),
    )
  }
  for (const cycle of findCycles(edges)) {
    const [first, second] = cycle
    const index = edges.get(first ?? '')?.find((edge) => edge.target === second)?.index ?? 0
    report.error(
      toPointer('scopes', first ?? '', 'implies', index),
      `"implies" forms a cycle: ${cycle.join(' → ')}; remove one of these implications`,
    )
  }
}

/**
 * The distinct cycles of the implication graph, each as its scopes with the first repeated
 * at the end, starting from the scope written first in the catalog.
 */
function findCycles(edges: ReadonlyMap<string, readonly { target: string }[]>): string[][] {
  const order = new Map([...edges.keys()].map((name, index) => [name, index]))
  const state = new Map<string, 'open' | 'done'>()
  const stack: string[] = []
  const cycles = new Map<string, string[]>()
  const visit = (name: string): void => {
    state.set(name, 'open')
    stack.push(name)
    for (const { target } of edges.get(name) ?? []) {
      const seen = state.get(target)
      if (seen === 'open') {
        const members = stack.slice(stack.indexOf(target))
        let start = 0
        members.forEach((member, i) => {
          if ((order.get(member) ?? 0) < (order.get(members[start] ?? '') ?? 0)) start = i
        })
        const rotated = [...members.slice(start), ...members.slice(0, start)]
        cycles.set(rotated.join('\n'), [...rotated, rotated[0] ?? ''])
      } else if (seen === undefined) {
        visit(target)
      }
    }
    stack.pop()
    state.set(name, 'done')
  }
  for (const name of edges.keys()) if (!state.has(name)) visit(name)
  return [...cycles.values()]
}
