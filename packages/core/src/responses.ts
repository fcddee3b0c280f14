import { ScopeguardConfigError, type OAuthErrorCode } from './errors.js'
import type { ScopeRequirement } from './scopes/compile-requirement.js'

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
  /** The `DPoP` challenges (RFC 9449 §7.1), when DPoP is not disabled. */
  readonly dpop: DpopChallenges | undefined
}

/**
 * The denials of DPoP requests, and of bearer requests where DPoP is required: a `DPoP`
 * challenge with the accepted `algs` (followed by the `Bearer` one when both are accepted).
 */
export interface DpopChallenges {
  /** 401 without an error code: no token where DPoP is required. */
  readonly missing: DenialResponse
  readonly invalidRequest: DenialResponse
  readonly invalidToken: DenialResponse
  /** 401 `invalid_dpop_proof` (RFC 9449 §12.2). */
  readonly invalidProof: DenialResponse
  /** 401 `use_dpop_nonce` with the `DPoP-Nonce` header to retry with (RFC 9449 §9). */
  useNonce(nonce: string): DenialResponse
  /** 403 `insufficient_scope` without a `scope` attribute, for a DPoP request. */
  readonly forbidden: DenialResponse
  /** 403 `insufficient_scope` naming the requirement, for a DPoP request. */
  insufficientScope(requirement: ScopeRequirement): DenialResponse
}

// RFC 7230 quoted-string content we allow in a realm: printable ASCII without `"` and `\`.
const REALM = /^[\x20\x21\x23-\x5B\x5D-\x7E]{1,256}$/

/**
 * Builds the `WWW-Authenticate` challenges of a guard. Every 401 for a bad token uses the
 * same frozen header object, so responses are byte-identical whatever the cause. The 403
 * challenge of each requirement is built on first use and kept.
 *
 * @example
 * createChallenges('api').invalidToken.headers['www-authenticate']
 * // => 'Bearer realm="api", error="invalid_token"'
 */
export function createChallenges(
  realm: string,
  dpop?: { readonly algorithms: readonly string[]; readonly withBearer: boolean },
): Challenges {
  if (typeof realm !== 'string' || !REALM.test(realm)) {
    throw new ScopeguardConfigError(
      'realm must be 1 to 256 printable ASCII characters without " or \\',
    )
  }
  const bearer = (error?: OAuthErrorCode, scope?: string): string =>
    `Bearer realm="${realm}"` +
    (error ? `, error="${error}"` : '') +
    (scope !== undefined ? `, scope="${scope}"` : '')
  const denial = (status: number, headers: Record<string, string>): DenialResponse =>
    Object.freeze({ status, headers: Object.freeze(headers) })
  const insufficient = new WeakMap<ScopeRequirement, DenialResponse>()
  const dpopChallenges = dpop === undefined ? undefined : createDpopChallenges(realm, dpop, denial)
  return {
    dpop: dpopChallenges,
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
  }
}

function createDpopChallenges(
  realm: string,
  {
    algorithms,
    withBearer,
  }: { readonly algorithms: readonly string[]; readonly withBearer: boolean },
  denial: (status: number, headers: Record<string, string>) => DenialResponse,
): DpopChallenges {
  const challenge = (error?: OAuthErrorCode, scope?: string): string =>
    `DPoP realm="${realm}", algs="${algorithms.join(' ')}"` +
    (error ? `, error="${error}"` : '') +
    (scope !== undefined ? `, scope="${scope}"` : '') +
    (withBearer ? `, Bearer realm="${realm}"` : '')
  let nonced: { nonce: string; response: DenialResponse } | undefined
  const insufficient = new WeakMap<ScopeRequirement, DenialResponse>()
  return {
    forbidden: denial(403, { 'www-authenticate': challenge('insufficient_scope') }),
    insufficientScope(requirement) {
      let response = insufficient.get(requirement)
      if (response === undefined) {
        response = denial(403, {
          'www-authenticate': challenge('insufficient_scope', requirement.challengeScope),
        })
        insufficient.set(requirement, response)
      }
      return response
    },
    missing: denial(401, { 'www-authenticate': challenge() }),
    invalidRequest: denial(400, { 'www-authenticate': challenge('invalid_request') }),
    invalidToken: denial(401, { 'www-authenticate': challenge('invalid_token') }),
    invalidProof: denial(401, { 'www-authenticate': challenge('invalid_dpop_proof') }),
    useNonce(nonce) {
      // One nonce per time bucket: the response is rebuilt only when the nonce changes.
      if (nonced?.nonce !== nonce) {
        nonced = {
          nonce,
          response: denial(401, {
            'www-authenticate': challenge('use_dpop_nonce'),
            'dpop-nonce': nonce,
          }),
        }
      }
      return nonced.response
    },
  }
}
