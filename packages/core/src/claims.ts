/** Claims of a verified token: a frozen, null-prototype copy. */
export type Claims = Readonly<Record<string, unknown>>

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype'])
const MAX_DEPTH = 16

/**
 * Copies claims into frozen objects without prototypes and without `__proto__`,
 * `constructor` or `prototype` members, so that no claim can reach an object's prototype
 * or be found through it (`claims.admin` is only ever a member the token really has).
 *
 * @example
 * const claims = toSafeClaims(JSON.parse('{"__proto__": {"admin": true}, "sub": "a"}'))
 * claims.admin // => undefined
 */
export function toSafeClaims(input: Record<string, unknown>): Claims {
  return copy(input, 0) as Claims
}

function copy(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object') return value
  if (depth >= MAX_DEPTH) return undefined
  if (Array.isArray(value)) return Object.freeze(value.map((item) => copy(item, depth + 1)))
  // An empty object given the null prototype stays in V8's fast mode as it is filled; one made
  // by Object.create(null) is a hash table from the start: slower to fill, freeze and read.
  const out = Object.setPrototypeOf({}, null) as Record<string, unknown>
  for (const key of Object.keys(value)) {
    if (FORBIDDEN.has(key)) continue
    out[key] = copy((value as Record<string, unknown>)[key], depth + 1)
  }
  return Object.freeze(out)
}
