import { isScopeToken, readScopes, type AuthInfo } from '@scopeguard/core'
import { usageError } from './errors.js'

/** A token as the command line or a test case describes it. */
export interface TokenInput {
  readonly clientId?: string | undefined
  readonly scopes: readonly string[]
  readonly claims?: Readonly<Record<string, unknown>> | undefined
}

/**
 * The caller core's decideRoute judges, built from a described token as the verifier would
 * build it from a real one: scopes as a set, `clientId`, and frozen prototype-free claims
 * that also hold `scope` and `client_id`; the scopes are read from `scope` by core's readScopes,
 * as the middleware reads them. Nothing is verified: there is no real token.
 *
 * @example
 * toAuthInfo({ clientId: 'reader', scopes: ['read:items'], claims: { tenant: 'a' } }).scopes.has('read:items') // => true
 */
export function toAuthInfo(token: TokenInput): AuthInfo {
  const claims: Record<string, unknown> = Object.create(null) as Record<string, unknown>
  for (const [key, value] of Object.entries(token.claims ?? {})) {
    if (key !== '__proto__') claims[key] = value
  }
  claims['scope'] = token.scopes.join(' ')
  if (token.clientId !== undefined) claims['client_id'] = token.clientId
  return Object.freeze({
    clientId: token.clientId,
    subject: typeof claims['sub'] === 'string' ? claims['sub'] : undefined,
    scopes: readScopes(claims),
    claims: Object.freeze(claims),
    token: Object.freeze({
      format: 'jwt' as const,
      id: undefined,
      issuer: 'scopeguard-cli',
      audience: [],
      algorithm: undefined,
      issuedAt: undefined,
      expiresAt: undefined,
      fingerprint: '',
    }),
  })
}

/**
 * Scopes written as in a token's `scope` claim, separated by spaces; an entry outside the
 * scope-token grammar (RFC 6749 §3.3) is a usage error.
 *
 * @example
 * parseScopes('read:items  write:items') // => ['read:items', 'write:items']
 */
export function parseScopes(text: string): string[] {
  const scopes = [...new Set(text.split(/\s+/).filter((scope) => scope !== ''))]
  const invalid = scopes.find((scope) => !isScopeToken(scope))
  if (invalid !== undefined)
    throw usageError(`${JSON.stringify(invalid)} is not a scope token (RFC 6749 §3.3)`)
  return scopes
}

/**
 * Claims given as a JSON object on the command line.
 *
 * @example
 * parseClaims('{"tenant":"a"}') // => { tenant: 'a' }
 */
export function parseClaims(text: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw usageError(
      `--claims is not JSON: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
    )
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw usageError('--claims must be a JSON object, like {"tenant":"a"}')
  return value as Record<string, unknown>
}
