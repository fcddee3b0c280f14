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
  /** 401 `insufficient_user_authentication` (RFC 9470 §3), for a DPoP request. */
  insufficientAuthentication(
    requirement: StepUpRequirement,
    failed: 'acr' | 'max_age',
  ): DenialResponse
}

/** What the challenges of a guard name besides its realm. */
export interface ChallengeSettings {
  /** The URL of the RFC 9728 metadata document: every challenge names it (`resource_metadata`). */
  readonly resourceMetadata?: string
  /** Builds the `DPoP` challenges too: the accepted proof algorithms, and whether `Bearer` is also offered. */
  readonly dpop?: { readonly algorithms: readonly string[]; readonly withBearer: boolean }
}

const STEP_UP_DESCRIPTIONS = {
  acr: 'A different authentication level is required',
  max_age: 'More recent authentication is required',
} as const

// RFC 7230 quoted-string content we allow in a realm: printable ASCII without `"` and `\`.
const REALM = /^[\x20\x21\x23-\x5B\x5D-\x7E]{1,256}$/

type Challenge = (error?: OAuthErrorCode, scope?: string, extra?: string) => string
type Denial = (status: number, headers: Record<string, string>) => DenialResponse

/**
 * Builds the `WWW-Authenticate` challenges of a guard. Every 401 for a bad token uses the
 * same frozen header object, so responses are byte-identical whatever the cause. The 403
 * challenge of each requirement is built on first use and kept. With `resourceMetadata`
 * (the URL of the RFC 9728 metadata document), every challenge names it, the `DPoP` ones too.
 *
 * @example
 * createChallenges('api').invalidToken.headers['www-authenticate']
 * // => 'Bearer realm="api", error="invalid_token"'
 * createChallenges('api', { dpop: { algorithms: ['ES256'], withBearer: false } }).dpop?.missing
 * // => { status: 401, headers: { 'www-authenticate': 'DPoP realm="api", algs="ES256"' } }
 */
export function createChallenges(realm: string, settings: ChallengeSettings = {}): Challenges {
  if (typeof realm !== 'string' || !REALM.test(realm)) {
    throw new ScopeguardConfigError(
      'realm must be 1 to 256 printable ASCII characters without " or \\',
    )
  }
  const { resourceMetadata, dpop } = settings
  const metadata = resourceMetadata === undefined ? '' : `, resource_metadata="${resourceMetadata}"`
  const bearer: Challenge = (error, scope, extra = '') =>
    `Bearer realm="${realm}"` +
    (error ? `, error="${error}"` : '') +
    (scope !== undefined ? `, scope="${scope}"` : '') +
    extra +
    metadata
  const denial: Denial = (status, headers) =>
    Object.freeze({ status, headers: Object.freeze(headers) })
  return {
    dpop: dpop === undefined ? undefined : createDpopChallenges(realm, metadata, dpop, denial),
    missing: denial(401, { 'www-authenticate': bearer() }),
    invalidRequest: denial(400, { 'www-authenticate': bearer('invalid_request') }),
    invalidToken: denial(401, { 'www-authenticate': bearer('invalid_token') }),
    unavailable: denial(503, { 'retry-after': '5' }),
    forbidden: denial(403, { 'www-authenticate': bearer('insufficient_scope') }),
    insufficientScope: insufficientScopes(bearer, denial),
    insufficientAuthentication: insufficientAuthentications(bearer, denial),
  }
}

/** The 403 `insufficient_scope` of each requirement, built on first use and kept. */
function insufficientScopes(
  challenge: Challenge,
  denial: Denial,
): (requirement: ScopeRequirement) => DenialResponse {
  const built = new WeakMap<ScopeRequirement, DenialResponse>()
  return (requirement) => {
    let response = built.get(requirement)
    if (response === undefined) {
      response = denial(403, {
        'www-authenticate': challenge('insufficient_scope', requirement.challengeScope),
      })
      built.set(requirement, response)
    }
    return response
  }
}

/** The 401 `insufficient_user_authentication` of each step-up requirement, built on first use. */
function insufficientAuthentications(
  challenge: Challenge,
  denial: Denial,
): (requirement: StepUpRequirement, failed: 'acr' | 'max_age') => DenialResponse {
  const stepUps = new WeakMap<StepUpRequirement, Record<string, DenialResponse>>()
  return (requirement, failed) => {
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
        'www-authenticate': challenge('insufficient_user_authentication', undefined, extra),
      })
      responses[failed] = response
    }
    return response
  }
}

function createDpopChallenges(
  realm: string,
  metadata: string,
  {
    algorithms,
    withBearer,
  }: { readonly algorithms: readonly string[]; readonly withBearer: boolean },
  denial: Denial,
): DpopChallenges {
  const challenge: Challenge = (error, scope, extra = '') =>
    `DPoP realm="${realm}", algs="${algorithms.join(' ')}"` +
    (error ? `, error="${error}"` : '') +
    (scope !== undefined ? `, scope="${scope}"` : '') +
    extra +
    metadata +
    (withBearer ? `, Bearer realm="${realm}"${metadata}` : '')
  let nonced: { nonce: string; response: DenialResponse } | undefined
  return {
    forbidden: denial(403, { 'www-authenticate': challenge('insufficient_scope') }),
    insufficientScope: insufficientScopes(challenge, denial),
    insufficientAuthentication: insufficientAuthentications(challenge, denial),
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
