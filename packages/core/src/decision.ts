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
  | 'verifier_unavailable'

/** A request that may proceed. `auth` is undefined only for anonymous requests (`optional`). */
export interface Allow {
  readonly allowed: true
  readonly status: 200
  readonly reason: 'allowed' | 'anonymous'
  readonly auth: AuthInfo | undefined
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
}

/** The outcome of judging one request. */
export type Decision = Allow | Deny

const CODES = {
  token_missing: ['ERR_SG_TOKEN_MISSING', undefined],
  request_invalid: ['ERR_SG_REQUEST_INVALID', 'invalid_request'],
  token_invalid: ['ERR_SG_TOKEN_INVALID', 'invalid_token'],
  scope_insufficient: ['ERR_SG_SCOPE_INSUFFICIENT', 'insufficient_scope'],
  verifier_unavailable: ['ERR_SG_UNAVAILABLE', undefined],
} as const satisfies Record<Deny['reason'], readonly [string, OAuthErrorCode | undefined]>

/** Builds a denial from a prebuilt response. */
export function deny(
  reason: Deny['reason'],
  response: DenialResponse,
  extra: {
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
