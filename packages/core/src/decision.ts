import type { AuthInfo } from './auth-info.js'
import { ScopeguardRequestError, type OAuthErrorCode, type TokenRejection } from './errors.js'
import type { DenialResponse } from './responses.js'

/** Why a request was allowed or denied. Stable: events and tests switch on it. */
export type DecisionReason =
  | 'allowed'
  | 'anonymous'
  | 'token_missing'
  | 'request_invalid'
  | 'token_invalid'
  | 'scope_insufficient'
  | 'authentication_insufficient'
  | 'route_unmapped'
  | 'policy_denied'
  | 'verifier_unavailable'
  | 'proof_invalid'
  | 'nonce_required'

/** Kinds of policy violation. */
export type ViolationType =
  | 'insufficient_scope'
  | 'condition_failed'
  | 'over_scope'
  | 'unknown_client'
  | 'outside_contract'
  | 'unmapped_route'
  | 'insufficient_user_authentication'

/**
 * One rule a request broke. In `monitor` mode, or for an `alert` action, it is recorded and
 * the request proceeds (`enforced: false`); otherwise it denied the request.
 */
export interface Violation {
  readonly type: ViolationType
  readonly mode: 'enforce' | 'monitor'
  readonly enforced: boolean
  /** What the rule expected (a requirement, a baseline, a stage, a condition). */
  readonly expected: unknown
  /** What the request had. */
  readonly seen: unknown
}

/** A request that may proceed. `auth` is undefined only for anonymous requests (`optional`). */
export interface Allow {
  readonly allowed: true
  readonly status: 200
  readonly reason: 'allowed' | 'anonymous'
  readonly auth: AuthInfo | undefined
  /** Violations recorded without denying (monitor mode, alerts). */
  readonly violations?: readonly Violation[]
  /** Headers to add to the response: a fresh `DPoP-Nonce` when DPoP nonces are on. */
  readonly headers?: Readonly<Record<string, string>>
}

/**
 * A request that must be refused, with the response to send. Denials are values, not
 * exceptions; {@link toRequestError} turns one into an error for apps that want to throw it.
 */
export interface Deny {
  readonly allowed: false
  readonly status: number
  readonly reason: Exclude<DecisionReason, 'allowed' | 'anonymous'>
  /** Stable `ERR_SG_*` code of the denial. */
  readonly code: string
  /** The RFC 6750 error code in the challenge, if any. */
  readonly oauthError: OAuthErrorCode | undefined
  /** Response headers (`WWW-Authenticate`, `Retry-After`), shared and frozen. */
  readonly headers: Readonly<Record<string, string>>
  /** For `scope_insufficient`: what the closest alternative of the requirement lacks. */
  readonly missingScopes: readonly string[]
  /** For `token_invalid`: the detailed cause, for diagnostics only. */
  readonly rejection: TokenRejection | undefined
  /** The caller, when the token was valid (`scope_insufficient`). */
  readonly auth: AuthInfo | undefined
  /** The underlying error, for diagnostics only. */
  readonly cause?: unknown
  /** The policy violations behind the denial (and any recorded alongside). */
  readonly violations?: readonly Violation[]
}

/** The outcome of judging one request. */
export type Decision = Allow | Deny

const CODES = {
  token_missing: ['ERR_SG_TOKEN_MISSING', undefined],
  request_invalid: ['ERR_SG_REQUEST_INVALID', 'invalid_request'],
  token_invalid: ['ERR_SG_TOKEN_INVALID', 'invalid_token'],
  scope_insufficient: ['ERR_SG_SCOPE_INSUFFICIENT', 'insufficient_scope'],
  authentication_insufficient: [
    'ERR_SG_AUTHENTICATION_INSUFFICIENT',
    'insufficient_user_authentication',
  ],
  route_unmapped: ['ERR_SG_ROUTE_UNMAPPED', 'insufficient_scope'],
  policy_denied: ['ERR_SG_POLICY_DENIED', 'insufficient_scope'],
  verifier_unavailable: ['ERR_SG_UNAVAILABLE', undefined],
  proof_invalid: ['ERR_SG_DPOP_PROOF_INVALID', 'invalid_dpop_proof'],
  nonce_required: ['ERR_SG_DPOP_NONCE', 'use_dpop_nonce'],
} as const satisfies Record<Deny['reason'], readonly [string, OAuthErrorCode | undefined]>

/** Builds a denial from a prebuilt response. */
export function deny(
  reason: Deny['reason'],
  response: DenialResponse,
  extra: {
    violations?: readonly Violation[]
    missingScopes?: readonly string[]
    rejection?: TokenRejection
    auth?: AuthInfo
    cause?: unknown
  } = {},
): Deny {
  const [code, oauthError] = CODES[reason]
  return {
    allowed: false,
    status: response.status,
    reason,
    code,
    oauthError,
    headers: response.headers,
    missingScopes: extra.missingScopes ?? [],
    rejection: extra.rejection,
    auth: extra.auth,
    cause: extra.cause,
    ...(extra.violations === undefined ? {} : { violations: extra.violations }),
  }
}

/**
 * Turns a denial into a {@link ScopeguardRequestError} with the same code, status and
 * headers, for apps that prefer to throw (Koa) or `next(err)` (Express) and render errors
 * themselves.
 *
 * @example
 * if (!decision.allowed) throw toRequestError(decision)
 */
export function toRequestError(decision: Deny): ScopeguardRequestError {
  return new ScopeguardRequestError(
    decision.code,
    decision.status,
    decision.oauthError,
    decision.headers,
    {
      cause: decision.cause,
    },
  )
}
