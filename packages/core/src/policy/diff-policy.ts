import type { CompiledPolicy, CompiledRoute } from './types.js'

/** One change between two policies, classified for review and alerting. */
export interface PolicyChange {
  /** `widening` grants more than before; `narrowing` grants less; `neutral` neither. */
  readonly kind: 'widening' | 'narrowing' | 'neutral'
  /** What changed: `route`, `client`, `contract`, `defaults` or `catalog` (a scope's `implies` or `elevatable`). */
  readonly subject: 'route' | 'client' | 'contract' | 'defaults' | 'catalog'
  /** The rule key, client id, contract name or default name. */
  readonly name: string
  readonly description: string
}

/**
 * Classifies every difference between two compiled policies: a route that needs less, a
 * client that may hold more, a contract stage moved up, a route made public, a mode moved
 * from enforce to monitor, default deny relaxed, a route no longer requiring DPoP — widening;
 * the reverse — narrowing.
 *
 * @example
 * diffPolicies(before, after).filter((change) => change.kind === 'widening')
 */
export function diffPolicies(before: CompiledPolicy, after: CompiledPolicy): PolicyChange[] {
  const changes: PolicyChange[] = []
  const add = (
    kind: PolicyChange['kind'],
    subject: PolicyChange['subject'],
    name: string,
    description: string,
  ): void => {
    changes.push({ kind, subject, name, description })
  }

  for (const key of new Set([...before.routes.keys(), ...after.routes.keys()])) {
    const old = before.routes.get(key)
    const next = after.routes.get(key)
    if (old === undefined)
      add(before.defaults.unmatched === 'deny' ? 'widening' : 'neutral', 'route', key, 'rule added')
    else if (next === undefined)
      add(
        after.defaults.unmatched === 'deny' ? 'narrowing' : 'neutral',
        'route',
        key,
        'rule removed',
      )
    else
      diffRoute(old, next, after.closure, (kind, description) =>
        add(kind, 'route', key, description),
      )
  }

  for (const id of new Set([...before.clients.keys(), ...after.clients.keys()])) {
    const old = before.clients.get(id)
    const next = after.clients.get(id)
    if (old === undefined) add('neutral', 'client', id, 'baseline added')
    else if (next === undefined)
      add('widening', 'client', id, 'baseline removed: the client is no longer held to it')
    else {
      const compared = compareSets(old.allow, next.allow)
      if (compared !== 'same')
        add(
          compared,
          'client',
          id,
          `baseline ${compared === 'widening' ? 'widened' : compared === 'narrowing' ? 'narrowed' : 'changed'}: ${[...next.allow].join(' ')}`,
        )
      if (old.onOverScope !== next.onOverScope)
        add(
          next.onOverScope === 'alert' ? 'widening' : 'narrowing',
          'client',
          id,
          `onOverScope ${old.onOverScope} → ${next.onOverScope}`,
        )
      if (old.mode !== next.mode)
        add(
          next.mode === 'monitor' ? 'widening' : 'narrowing',
          'client',
          id,
          `mode ${old.mode} → ${next.mode}`,
        )
    }
  }

  for (const id of new Set([...before.contracts.keys(), ...after.contracts.keys()])) {
    const old = before.contracts.get(id)
    const next = after.contracts.get(id)
    const name = next?.name ?? old?.name ?? id
    if (old === undefined) add('narrowing', 'contract', name, `contract added for ${id}`)
    else if (next === undefined) add('widening', 'contract', name, `contract removed for ${id}`)
    else if (old.stage !== next.stage) {
      add(
        next.stageIndex > old.stageIndex ? 'widening' : 'narrowing',
        'contract',
        name,
        `stage ${old.stage} → ${next.stage}`,
      )
    } else if (old.mode !== next.mode) {
      add(
        next.mode === 'monitor' ? 'widening' : 'narrowing',
        'contract',
        name,
        `stage mode ${old.mode} → ${next.mode}`,
      )
    }
  }

  const d0 = before.defaults
  const d1 = after.defaults
  if (d0.unmatched !== d1.unmatched)
    add(
      d1.unmatched === 'allow' ? 'widening' : 'narrowing',
      'defaults',
      'unmatched',
      `${d0.unmatched} → ${d1.unmatched}`,
    )
  if (d0.mode !== d1.mode)
    add(
      d1.mode === 'monitor' ? 'widening' : 'narrowing',
      'defaults',
      'mode',
      `${d0.mode} → ${d1.mode}`,
    )
  if (d0.onOverScope !== d1.onOverScope)
    add(
      d1.onOverScope === 'alert' ? 'widening' : 'narrowing',
      'defaults',
      'onOverScope',
      `${d0.onOverScope} → ${d1.onOverScope}`,
    )
  if (d0.unknownClients !== d1.unknownClients) {
    const rank = { allow: 0, alert: 1, block: 2 }
    add(
      rank[d1.unknownClients] < rank[d0.unknownClients] ? 'widening' : 'narrowing',
      'defaults',
      'unknownClients',
      `${d0.unknownClients} → ${d1.unknownClients}`,
    )
  }
  diffCatalog(before, after, add)
  return changes
}

/**
 * Changes to the scope catalog: a scope that implies more than before lets every token
 * holding it satisfy more rules (widening) though no rule changed; one that implies less, the
 * reverse; a scope made `elevatable` may now be granted by just-in-time elevation. Scopes
 * added to or removed from the catalog are neutral (validation ensures nothing names a
 * removed one).
 */
function diffCatalog(
  before: CompiledPolicy,
  after: CompiledPolicy,
  add: (
    kind: PolicyChange['kind'],
    subject: PolicyChange['subject'],
    name: string,
    description: string,
  ) => void,
): void {
  for (const name of new Set([...before.closure.keys(), ...after.closure.keys()])) {
    const old = before.closure.get(name)
    const next = after.closure.get(name)
    if (old === undefined || next === undefined) {
      add(
        'neutral',
        'catalog',
        name,
        old === undefined ? 'scope added to the catalog' : 'scope removed from the catalog',
      )
      continue
    }
    const gained = [...next].filter((scope) => !old.has(scope))
    const lost = [...old].filter((scope) => !next.has(scope))
    if (gained.length > 0) {
      const also = lost.length > 0 ? ` (and no longer ${lost.join(' ')})` : ''
      add(
        'widening',
        'catalog',
        name,
        `now implies ${gained.join(' ')}: tokens holding it satisfy more rules${also}`,
      )
    } else if (lost.length > 0) {
      add('narrowing', 'catalog', name, `no longer implies ${lost.join(' ')}`)
    }
    const was = before.document.scopes[name]?.elevatable === true
    const is = after.document.scopes[name]?.elevatable === true
    if (was !== is) {
      add(
        is ? 'widening' : 'narrowing',
        'catalog',
        name,
        is ? 'made elevatable: just-in-time elevation may grant it' : 'no longer elevatable',
      )
    }
  }
}

function diffRoute(
  old: CompiledRoute,
  next: CompiledRoute,
  closure: CompiledPolicy['closure'],
  add: (kind: PolicyChange['kind'], description: string) => void,
): void {
  if (old.public !== next.public)
    add(next.public ? 'widening' : 'narrowing', next.public ? 'made public' : 'no longer public')
  const before = old.requirement?.source
  const after = next.requirement?.source
  if (before !== after) {
    const weaker = accepts(next, old, closure) // everything the old rule accepted, the new one accepts
    const stronger = accepts(old, next, closure)
    const kind =
      weaker && !stronger
        ? 'widening'
        : stronger && !weaker
          ? 'narrowing'
          : weaker
            ? 'neutral'
            : 'widening'
    add(kind, `requirement ${before ?? '(none)'} → ${after ?? '(none)'}`)
  }
  if (old.mode !== next.mode)
    add(next.mode === 'monitor' ? 'widening' : 'narrowing', `mode ${old.mode} → ${next.mode}`)
  if (JSON.stringify(old.conditions) !== JSON.stringify(next.conditions)) {
    add(
      next.conditions.length < old.conditions.length ? 'widening' : 'neutral',
      'conditions changed',
    )
  }
  if (old.dpop !== next.dpop) {
    // Only `required` keeps bearer tokens out; the other settings admit them (or the guard decides).
    add(
      next.dpop === 'required' ? 'narrowing' : old.dpop === 'required' ? 'widening' : 'neutral',
      `dpop ${old.dpop ?? '(guard)'} → ${next.dpop ?? '(guard)'}`,
    )
  }
  diffStepUp(old.stepUp, next.stepUp, add)
}

/** Step-up: accepting more authentication contexts, or older authentications, widens. */
function diffStepUp(
  old: CompiledRoute['stepUp'],
  next: CompiledRoute['stepUp'],
  add: (kind: PolicyChange['kind'], description: string) => void,
): void {
  const acr = compareSets(new Set(old?.acr ?? ['*']), new Set(next?.acr ?? ['*']))
  if (acr !== 'same') {
    const list = (values: readonly string[] | undefined): string => values?.join(' ') ?? '(any)'
    // No acr requirement accepts every token: going to or from it is a widening or narrowing.
    const kind = old?.acr === undefined ? 'narrowing' : next?.acr === undefined ? 'widening' : acr
    add(kind, `acr ${list(old?.acr)} → ${list(next?.acr)}`)
  }
  const before = old?.maxAge ?? Infinity
  const after = next?.maxAge ?? Infinity
  if (before !== after) {
    const text = (age: number): string => (age === Infinity ? '(none)' : `${age} s`)
    add(after > before ? 'widening' : 'narrowing', `maxAge ${text(before)} → ${text(after)}`)
  }
}

/**
 * Whether every token that satisfies `narrow` also satisfies `wide`: each alternative of
 * `narrow`, closed under `implies`, contains an alternative of `wide`.
 */
function accepts(
  wide: CompiledRoute,
  narrow: CompiledRoute,
  closure: CompiledPolicy['closure'],
): boolean {
  if (wide.requirement === undefined) return true
  if (narrow.requirement === undefined) return false
  return narrow.requirement.alternatives.every((alternative) => {
    const held = new Set(alternative.flatMap((scope) => [...(closure.get(scope) ?? [scope])]))
    return wide.requirement?.alternatives.some((candidate) =>
      candidate.every((scope) => held.has(scope)),
    )
  })
}

function compareSets(
  before: ReadonlySet<string>,
  after: ReadonlySet<string>,
): 'same' | 'widening' | 'narrowing' | 'neutral' {
  const added = [...after].some((s) => !before.has(s))
  const removed = [...before].some((s) => !after.has(s))
  if (!added && !removed) return 'same'
  if (added && removed) return 'widening' // anything added grants more, whatever was removed
  return added ? 'widening' : 'narrowing'
}
