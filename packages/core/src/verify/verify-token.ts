import type { JWTPayload } from 'jose'
import type { AuthInfo, TokenInfo } from '../auth-info.js'
import { toSafeClaims } from '../claims.js'
import { isThumbprint } from '../client-certificate.js'
import { TokenInvalidError } from '../errors.js'
import type { ResolvedOptions } from '../resolve-options.js'
import { readScopes } from '../scopes/read-scopes.js'
import { introspectToken } from './introspect-token.js'
import { verifyJwt } from './verify-jwt.js'

/** A claim's value when it is a string. */
const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined)
/** A claim's value, in epoch seconds, as a Date when it is a number. */
const time = (value: unknown): Date | undefined =>
  typeof value === 'number' ? new Date(value * 1000) : undefined

const TIME_CLAIMS = ['exp', 'iat', 'nbf'] as const
/** The largest time a Date can hold, in epoch seconds. */
const MAX_EPOCH = 8.64e12
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

/**
 * Whether a token has the shape of a compact JWS (three base64url parts): such a token is
 * verified locally, anything else introspected. Every such token is an RFC 6750 b64token.
 *
 * @example
 * isJwtShaped('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln') // => true
 */
export function isJwtShaped(token: string): boolean {
  return JWT_SHAPE.test(token)
}

/** What the guard's verified-token cache needs: how to verify a token, and for how long its result holds. */
export interface TokenVerifier {
  /**
   * Verifies a JWT (signature and claims) or introspects an opaque token; throws a token or
   * availability error. `jwt` is {@link isJwtShaped} of the token, when the caller knows it.
   */
  verify(token: string, fingerprint: string, jwt?: boolean): Promise<AuthInfo>
  /** Epoch ms until which a verified token may be served from the cache. */
  cacheUntil(auth: AuthInfo): number
}

/**
 * Creates the verification half of a guard from its resolved options: JWTs are verified
 * locally, anything else is introspected (when configured); the claims every token must get
 * right (time claims, lifetime, confirmation methods) are checked once, and the result is
 * the frozen {@link AuthInfo} the cache keeps.
 *
 * @example
 * const verifier = createTokenVerifier(resolveOptions(options))
 * const auth = await verifier.verify(token, tokenFingerprint(token))
 */
export function createTokenVerifier(config: ResolvedOptions): TokenVerifier {
  const { counters, clock, dpop } = config

  async function verify(
    token: string,
    fingerprint: string,
    jwt = isJwtShaped(token),
  ): Promise<AuthInfo> {
    const now = clock()
    if (jwt) {
      counters.jwtVerifications++
      const { payload, algorithm } = await verifyJwt(token, config.jwt, now)
      checkClaims(payload)
      return toAuthInfo(payload, 'jwt', algorithm, fingerprint)
    }
    if (config.introspection === undefined) throw new TokenInvalidError('unsupported_format')
    counters.introspections++
    const answer = await introspectToken(token, config.introspection, now)
    checkClaims(answer)
    return toAuthInfo(answer, 'opaque', undefined, fingerprint)
  }

  const checkClaims = (claims: Record<string, unknown>): void => {
    // A token bound to a key (DPoP cnf.jkt, mTLS cnf.x5t#S256) must not work as a plain
    // bearer token: whoever stole it would not need the key (RFC 9449 §7.2, RFC 8705 §3).
    if (Object.hasOwn(claims, 'cnf')) checkConfirmation(claims['cnf'])
    for (const name of TIME_CLAIMS) {
      const value = claims[name]
      if (
        value !== undefined &&
        !(typeof value === 'number' && Number.isFinite(value) && Math.abs(value) <= MAX_EPOCH)
      ) {
        throw new TokenInvalidError('claim_invalid')
      }
    }
    checkLifetime(claims)
  }

  /**
   * The confirmation methods (RFC 7800 `cnf`) this guard checks on every request are accepted
   * here, each checked again per request and never cached with the token: `jkt` when DPoP is
   * not disabled (a proof of that key, RFC 9449 §6), `x5t#S256` with `mtls` (the client
   * certificate, RFC 8705 §3). A `cnf` with any other member, or with one this guard does not
   * check, refuses the token: one carrying both `jkt` and `x5t#S256` is accepted only when
   * both DPoP and `mtls` are on, and then needs both a valid proof and the certificate.
   */
  const checkConfirmation = (cnf: unknown): void => {
    if (cnf === null || typeof cnf !== 'object' || Array.isArray(cnf))
      throw new TokenInvalidError('key_bound')
    const members = Object.keys(cnf)
    if (members.length === 0) throw new TokenInvalidError('key_bound')
    for (const member of members) {
      const value = (cnf as Record<string, unknown>)[member]
      if (member === 'jkt' && dpop !== undefined) {
        if (typeof value !== 'string' || value === '') throw new TokenInvalidError('claim_invalid')
      } else if (member === 'x5t#S256' && config.mtls !== undefined) {
        if (!isThumbprint(value)) throw new TokenInvalidError('claim_invalid')
      } else {
        throw new TokenInvalidError('key_bound')
      }
    }
  }

  const checkLifetime = (claims: { iat?: unknown; exp?: unknown }): void => {
    const max = config.maxTokenLifetime
    if (max === undefined) return
    const { iat, exp } = claims
    if (typeof iat !== 'number' || typeof exp !== 'number')
      throw new TokenInvalidError('claim_invalid')
    if (exp - iat > max) throw new TokenInvalidError('lifetime_too_long')
  }

  const toAuthInfo = (
    payload: JWTPayload | Record<string, unknown>,
    format: 'jwt' | 'opaque',
    algorithm: string | undefined,
    fingerprint: string,
  ): AuthInfo => {
    const claims = toSafeClaims(payload as Record<string, unknown>)
    const aud = claims['aud']
    // checkClaims let a `cnf` through only with members this guard checks per request.
    const cnf = claims['cnf'] as Record<string, unknown> | undefined
    const jkt = cnf?.['jkt'] as string | undefined
    const thumbprint = cnf?.['x5t#S256'] as string | undefined
    const info: TokenInfo = {
      format,
      id: text(claims['jti']),
      issuer: text(claims['iss']) ?? config.introspection?.issuer ?? '',
      audience: Object.freeze(
        typeof aud === 'string'
          ? [aud]
          : Array.isArray(aud)
            ? (aud.filter((a) => typeof a === 'string') as string[])
            : [],
      ),
      algorithm,
      issuedAt: time(claims['iat']),
      expiresAt: time(claims['exp']),
      fingerprint,
    }
    if (thumbprint !== undefined)
      (info as { certificateThumbprint?: string }).certificateThumbprint = thumbprint
    const auth: AuthInfo = {
      clientId: text(claims['client_id']) ?? text(claims['azp']),
      subject: text(claims['sub']),
      scopes: Object.freeze(readScopes(claims, config.scopeClaim)),
      claims,
      token: Object.freeze(info),
    }
    // No conditional spreads on this path: a DPoP-bound token's `binding` comes first, as before.
    return Object.freeze(
      jkt === undefined
        ? auth
        : { binding: Object.freeze({ kind: 'dpop' as const, jkt }), ...auth },
    )
  }

  // A verified token is served from cache exactly as long as verification would accept it.
  const tolerance = config.jwt.clockTolerance * 1000
  const cacheUntil = (auth: AuthInfo): number => {
    const expiresAt = auth.token.expiresAt?.getTime()
    let until = expiresAt === undefined ? Infinity : expiresAt + tolerance
    if (auth.token.format === 'opaque') {
      until = Math.min(until, clock() + config.introspectionCacheMaxAge)
    }
    const { maxTokenAge } = config.jwt
    if (maxTokenAge !== undefined && auth.token.issuedAt !== undefined) {
      until = Math.min(until, auth.token.issuedAt.getTime() + maxTokenAge * 1000 + tolerance)
    }
    return until
  }

  return { verify, cacheUntil }
}
