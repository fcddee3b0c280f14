import { ScopeguardConfigError, type OAuthErrorCode } from './errors.js'
import type { ScopeRequirement } from './scopes/compile-requirement.js'
import type { StepUpRequirement } from './policy/types.js'

/** Status and headers of a denial, prebuilt at start-up and shared by every request. */
export interface DenialResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
}

/** The fixed denials of one guard (RFC 6750 §3), built once from its realm. */
export interface Challenges {
  readonly missing: DenialResponse
  readonly invalidRequest: DenialResponse
  readonly invalidToken: DenialResponse
  readonly unavailable: DenialResponse
  /** 403 `insufficient_scope` without a `scope` attribute: no scope of the token's would help. */
  readonly forbidden: DenialResponse
  insufficientScope(requirement: ScopeRequirement): DenialResponse
  /**
   * 401 `insufficient_user_authentication` (RFC 9470 §3) for a route's step-up requirement,
   * with its `acr_values` and `max_age`; `failed` picks the description.
   */
  insufficientAuthentication(
    requirement: StepUpRequirement,
    failed: 'acr' | 'max_age',
  ): DenialResponse
}

const STEP_UP_DESCRIPTIONS = {
  acr: 'A different authentication level is required',
  max_age: 'More recent authentication is required',
} as const

// RFC 7230 quoted-string content we allow in a realm: printable ASCII without `"` and `\`.
const REALM = /^[\x20\x21\x23-\x5B\x5D-\x7E]{1,256}$/

/**
 * Builds the `WWW-Authenticate` challenges of a guard. Every 401 for a bad token uses the
 * same frozen header object, so responses are byte-identical whatever the cause. The 403
 * challenge of each requirement is built on first use and kept. With `resourceMetadata`
 * (the URL of the RFC 9728 metadata document), every challenge names it.
 *
 * @example
 * createChallenges('api').invalidToken.headers['www-authenticate']
 * // => 'Bearer realm="api", error="invalid_token"'
 */
export function createChallenges(realm: string, resourceMetadata?: string): Challenges {
  if (typeof realm !== 'string' || !REALM.test(realm)) {
    throw new ScopeguardConfigError(
      'realm must be 1 to 256 printable ASCII characters without " or \\',
    )
  }
  const metadata = resourceMetadata === undefined ? '' : `, resource_metadata="${resourceMetadata}"`
  const bearer = (error?: OAuthErrorCode, scope?: string, extra = ''): string =>
    `Bearer realm="${realm}"` +
    (error ? `, error="${error}"` : '') +
    (scope !== undefined ? `, scope="${scope}"` : '') +
    extra +
    metadata
  const denial = (status: number, headers: Record<string, string>): DenialResponse =>
    Object.freeze({ status, headers: Object.freeze(headers) })
  const insufficient = new WeakMap<ScopeRequirement, DenialResponse>()
  const stepUps = new WeakMap<StepUpRequirement, Record<string, DenialResponse>>()
  return {
    missing: denial(401, { 'www-authenticate': bearer() }),
    invalidRequest: denial(400, { 'www-authenticate': bearer('invalid_request') }),
    invalidToken: denial(401, { 'www-authenticate': bearer('invalid_token') }),
    unavailable: denial(503, { 'retry-after': '5' }),
    forbidden: denial(403, { 'www-authenticate': bearer('insufficient_scope') }),
    insufficientScope(requirement) {
      let response = insufficient.get(requirement)
      if (response === undefined) {
        response = denial(403, {
          'www-authenticate': bearer('insufficient_scope', requirement.challengeScope),
        })
        insufficient.set(requirement, response)
      }
      return response
    },
    insufficientAuthentication(requirement, failed) {
      let responses = stepUps.get(requirement)
      if (responses === undefined) {
        responses = {}
        stepUps.set(requirement, responses)
      }
      let response = responses[failed]
      if (response === undefined) {
        // acr values are checked at policy load (printable ASCII without spaces, " or \).
        const extra =
          `, error_description="${STEP_UP_DESCRIPTIONS[failed]}"` +
          (requirement.acr === undefined ? '' : `, acr_values="${requirement.acr.join(' ')}"`) +
          (requirement.maxAge === undefined ? '' : `, max_age="${requirement.maxAge}"`)
        response = denial(401, {
          'www-authenticate': bearer('insufficient_user_authentication', undefined, extra),
        })
        responses[failed] = response
      }
      return response
    },
  }
}
