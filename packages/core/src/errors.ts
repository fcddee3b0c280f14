/**
 * Error classes of scopeguard. Every class has a stable string `code` (`ERR_SG_*`) to switch
 * on, and request errors carry what Express and Koa need to render them (`status`,
 * `statusCode`, `expose`, `headers`). Detail travels as `cause`, never in the message.
 */

/**
 * The OAuth 2.0 error codes a resource server returns: those of RFC 6750 §3.1, RFC 9470's
 * `insufficient_user_authentication` (step-up authentication), and RFC 9449 §7.1 and §12.2
 * for DPoP (`invalid_dpop_proof`, `use_dpop_nonce`).
 */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'insufficient_user_authentication'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'

/** Base class of every error scopeguard throws or returns. */
export class ScopeguardError extends Error {
  /** A stable identifier such as `ERR_SG_TOKEN_INVALID`. */
  readonly code: string

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
    this.code = code
  }
}

/**
 * A mistake in the options or a requirement: thrown at start-up, with a message that says
 * what to change. Never the result of a request.
 */
export class ScopeguardConfigError extends ScopeguardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_SG_CONFIG', message, options)
  }
}

/**
 * An error that answers one request. It carries its HTTP status and response headers, so
 * the http-errors conventions of Express and Koa render it as scopeguard would.
 */
export class ScopeguardRequestError extends ScopeguardError {
  readonly status: number
  readonly statusCode: number
  /** The message is safe to show the client (it never says which check failed). */
  readonly expose = true
  readonly headers: Readonly<Record<string, string>>
  /** The RFC 6750 error code sent in `WWW-Authenticate`, when there is one. */
  readonly oauthError: OAuthErrorCode | undefined

  constructor(
    code: string,
    status: number,
    oauthError: OAuthErrorCode | undefined,
    headers: Readonly<Record<string, string>>,
    options?: { cause?: unknown },
  ) {
    super(code, oauthError ?? (status === 503 ? 'service_unavailable' : 'unauthorized'), options)
    this.status = status
    this.statusCode = status
    this.oauthError = oauthError
    this.headers = headers
  }
}

/**
 * Why a token was rejected. It goes to diagnostics and events, never to the client: every
 * 401 for a bad token is byte-identical whatever the reason.
 */
export type TokenRejection =
  | 'malformed'
  | 'too_large'
  | 'unsupported_format'
  | 'algorithm_not_allowed'
  | 'type_not_allowed'
  | 'id_token'
  | 'signature_invalid'
  | 'key_not_found'
  | 'expired'
  | 'not_yet_valid'
  | 'too_old'
  | 'issuer_mismatch'
  | 'audience_mismatch'
  | 'claim_invalid'
  | 'inactive'
  | 'revoked'
  | 'key_bound'
  | 'certificate_missing'
  | 'certificate_mismatch'
  | 'lifetime_too_long'
  | DpopRejection

/** Why a DPoP request (RFC 9449) was refused; see docs/dpop.md. */
export type DpopRejection =
  | 'dpop_required'
  | 'dpop_unbound'
  | 'dpop_disabled'
  | 'dpop_proof_missing'
  | 'dpop_proof_invalid'
  | 'dpop_htm_mismatch'
  | 'dpop_htu_mismatch'
  | 'dpop_iat_invalid'
  | 'dpop_ath_mismatch'
  | 'dpop_jkt_mismatch'
  | 'dpop_replay'
  | 'dpop_nonce_invalid'

/** Thrown by token verification: the token cannot be accepted (401 `invalid_token`). */
export class TokenInvalidError extends ScopeguardError {
  readonly reason: TokenRejection
  constructor(reason: TokenRejection, options?: { cause?: unknown }) {
    super('ERR_SG_TOKEN_INVALID', `access token rejected: ${reason}`, options)
    this.reason = reason
  }
}

/**
 * Thrown by token verification: the key source or the introspection endpoint could not be
 * reached and nothing usable is cached (503, never 401).
 */
export class VerifierUnavailableError extends ScopeguardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_SG_UNAVAILABLE', message, options)
  }
}
