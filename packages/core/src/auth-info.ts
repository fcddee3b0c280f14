import type { Claims } from './claims.js'

/** What scopeguard knows of the token a request was made with (never the raw token). */
export interface TokenInfo {
  /** `jwt` when verified locally, `opaque` when verified by introspection. */
  readonly format: 'jwt' | 'opaque'
  /** The token's `jti`, when it has one. */
  readonly id: string | undefined
  readonly issuer: string
  readonly audience: readonly string[]
  /** The JWS algorithm (JWT only). */
  readonly algorithm: string | undefined
  readonly issuedAt: Date | undefined
  readonly expiresAt: Date | undefined
  /** SHA-256 of the token (base64url): safe to log and to correlate, never reversible. */
  readonly fingerprint: string
  /**
   * For a certificate-bound token (RFC 8705, with the `mtls` option): its `cnf["x5t#S256"]`,
   * the thumbprint of the client certificate every request with it must present.
   */
  readonly certificateThumbprint?: string
}

/** A proven key binding of a token: DPoP (`cnf.jkt`). */
export interface TokenBinding {
  readonly kind: 'dpop'
  /** The JWK SHA-256 thumbprint (RFC 7638) of the proof key, equal to the token's `cnf.jkt`. */
  readonly jkt: string
}

/**
 * The authenticated caller of a request, as the adapters expose it (`req.auth`,
 * `ctx.state.auth`). Frozen: nothing downstream can widen it.
 */
export interface AuthInfo {
  /** The OAuth client: `client_id` (RFC 9068), else `azp`. */
  readonly clientId: string | undefined
  /** The resource owner or, for client credentials, usually the client: `sub`. */
  readonly subject: string | undefined
  /** Normalized granted scopes. */
  readonly scopes: ReadonlySet<string>
  /** Every claim of the token (or introspection answer), prototype-free and frozen. */
  readonly claims: Claims
  readonly token: TokenInfo
  /**
   * The key the token is bound to (RFC 7800 `cnf`), which the request proved it holds: for
   * DPoP (RFC 9449), the JWK SHA-256 thumbprint `cnf.jkt` of the key that signed the request's
   * proof. Undefined for plain bearer tokens.
   */
  readonly binding?: TokenBinding
  /** Present when active elevation grants added scopes: which, and by which grants. */
  readonly elevation?: { readonly scopes: readonly string[]; readonly grants: readonly string[] }
}
