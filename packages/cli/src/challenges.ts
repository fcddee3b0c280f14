import type { decideRoute } from '@scopeguard/core'
import { usageError } from './errors.js'

/** The prebuilt denials core's decideRoute answers with. */
export type Challenges = Parameters<typeof decideRoute>[3]

// RFC 7230 quoted-string content allowed in a realm, as core checks it.
const REALM = /^[\x20\x21\x23-\x5B\x5D-\x7E]{1,256}$/

/**
 * The `WWW-Authenticate` challenges of a guard with this realm, built as core's
 * createChallenges (packages/core/src/responses.ts) builds them: core does not export it
 * yet. Remove this file when it does.
 *
 * @example
 * createChallenges('api').missing.headers['www-authenticate'] // => 'Bearer realm="api"'
 */
export function createChallenges(realm: string): Challenges {
  if (!REALM.test(realm)) {
    throw usageError('--realm must be 1 to 256 printable ASCII characters without " or \\')
  }
  const bearer = (error?: string, scope?: string): string =>
    `Bearer realm="${realm}"` +
    (error === undefined ? '' : `, error="${error}"`) +
    (scope === undefined ? '' : `, scope="${scope}"`)
  const denial = (status: number, headers: Record<string, string>) =>
    Object.freeze({ status, headers: Object.freeze(headers) })
  return {
    missing: denial(401, { 'www-authenticate': bearer() }),
    invalidRequest: denial(400, { 'www-authenticate': bearer('invalid_request') }),
    invalidToken: denial(401, { 'www-authenticate': bearer('invalid_token') }),
    unavailable: denial(503, { 'retry-after': '5' }),
    forbidden: denial(403, { 'www-authenticate': bearer('insufficient_scope') }),
    insufficientScope: (requirement) =>
      denial(403, { 'www-authenticate': bearer('insufficient_scope', requirement.challengeScope) }),
  }
}
