import { isScopeToken } from './scope-token.js'

/** Where the scopes of a token are read from: a claim name, or a function of the claims. */
export type ScopeSource = string | ((claims: Readonly<Record<string, unknown>>) => unknown)

/**
 * Reads the scopes a token grants as a normalized set. By default it reads `scope`
 * (space-delimited, RFC 6749 §3.3 and RFC 9068) and, when that is absent, `scp` (a string or
 * an array). A configured claim name (Auth0's `permissions`) or function replaces that.
 * Entries outside the scope-token grammar (tabs, newlines, NUL, non-ASCII look-alikes…) are
 * dropped, so they can never match a requirement.
 *
 * @example
 * readScopes({ scope: 'read:items write:items' }) // => Set { 'read:items', 'write:items' }
 */
export function readScopes(
  claims: Readonly<Record<string, unknown>>,
  source?: ScopeSource,
): ReadonlySet<string> {
  let value: unknown
  if (typeof source === 'function') value = source(claims)
  else if (typeof source === 'string') value = ownClaim(claims, source)
  else value = ownClaim(claims, 'scope') ?? ownClaim(claims, 'scp')
  return toScopeSet(value)
}

function ownClaim(claims: Readonly<Record<string, unknown>>, name: string): unknown {
  return Object.hasOwn(claims, name) ? claims[name] : undefined
}

// Scope-token characters (RFC 6749 §3.3) and the space between them: in such a string every
// non-empty part between spaces is a scope-token, so no part needs its own check.
const SCOPE_LIST = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/

function toScopeSet(value: unknown): ReadonlySet<string> {
  const scopes = new Set<string>()
  if (typeof value === 'string') {
    const clean = SCOPE_LIST.test(value)
    for (const entry of value.split(' ')) {
      if (clean ? entry !== '' : isScopeToken(entry)) scopes.add(entry)
    }
  } else if (Array.isArray(value)) {
    for (const entry of value as unknown[]) {
      if (typeof entry === 'string' && isScopeToken(entry)) scopes.add(entry)
    }
  }
  return scopes
}
