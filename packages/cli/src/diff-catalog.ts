import type { CompiledPolicy, PolicyChange } from '@scopeguard/core'

/** A classified change between two policies: core's subjects, and `catalog`. */
export interface PolicyDiffChange {
  readonly kind: PolicyChange['kind']
  readonly subject: PolicyChange['subject'] | 'catalog'
  readonly name: string
  readonly description: string
}

/**
 * The changes to the scope catalog that core's diffPolicies does not classify: a scope that
 * implies more than before lets every token holding it satisfy more rules (widening) even
 * though no rule changed; one that implies less, the reverse; a scope made `elevatable` may
 * now be granted by just-in-time elevation. Scopes added to or removed from the catalog are
 * neutral (the validation ensures nothing names a removed one).
 *
 * @example
 * diffCatalog(before, after) // => [{ kind: 'widening', subject: 'catalog', name: 'admin', … }]
 */
export function diffCatalog(before: CompiledPolicy, after: CompiledPolicy): PolicyDiffChange[] {
  const changes: PolicyDiffChange[] = []
  const add = (kind: PolicyChange['kind'], name: string, description: string): void => {
    changes.push({ kind, subject: 'catalog', name, description })
  }
  const names = new Set([...before.closure.keys(), ...after.closure.keys()])
  for (const name of names) {
    const old = before.closure.get(name)
    const next = after.closure.get(name)
    if (old === undefined) {
      add('neutral', name, 'scope added to the catalog')
      continue
    }
    if (next === undefined) {
      add('neutral', name, 'scope removed from the catalog')
      continue
    }
    const gained = [...next].filter((scope) => !old.has(scope))
    const lost = [...old].filter((scope) => !next.has(scope))
    if (gained.length > 0) {
      add(
        'widening',
        name,
        `now implies ${gained.join(' ')}: tokens holding it satisfy more rules` +
          (lost.length > 0 ? ` (and no longer ${lost.join(' ')})` : ''),
      )
    } else if (lost.length > 0) {
      add('narrowing', name, `no longer implies ${lost.join(' ')}`)
    }
    const wasElevatable = before.document.scopes[name]?.elevatable === true
    const isElevatable = after.document.scopes[name]?.elevatable === true
    if (wasElevatable !== isElevatable) {
      add(
        isElevatable ? 'widening' : 'narrowing',
        name,
        isElevatable
          ? 'made elevatable: just-in-time elevation may grant it'
          : 'no longer elevatable',
      )
    }
  }
  return changes
}
