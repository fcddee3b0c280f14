import { createHmac, createPublicKey, type JsonWebKey } from 'node:crypto'
import {
  base64url,
  decodeJwt,
  decodeProtectedHeader,
  importJWK,
  SignJWT,
  type JWK,
  type JWTPayload,
} from 'jose'

/** Private signing keys of the local authorization server, as the tests generated them. */
export interface SigningKeys {
  keys: JWK[]
}

function rsaKey(keys: SigningKeys): JWK {
  const key = keys.keys.find((k) => k.kty === 'RSA')
  if (key === undefined) throw new Error('no RSA key among the authorization server keys')
  return key
}

/**
 * Re-signs a token the authorization server issued, with the server's own RSA key and kid,
 * after changing its claims: a token the server could have issued (expired, other audience…).
 */
export async function resign(
  token: string,
  keys: SigningKeys,
  change: (payload: JWTPayload) => JWTPayload,
  header: Record<string, unknown> = {},
): Promise<string> {
  const key = rsaKey(keys)
  const payload = change({ ...decodeJwt(token) })
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: key.kid, ...header })
    .sign(await importJWK(key, 'RS256'))
}

/** `alg: none` with the token's real header and payload (CVE-2015-9235 class). */
export function unsigned(token: string, alg = 'none'): string {
  const header = { ...decodeProtectedHeader(token), alg }
  return `${base64url.encode(JSON.stringify(header))}.${token.split('.')[1] ?? ''}.`
}

/**
 * HS256 over the token's real header and payload with the issuer's RSA public key as the
 * HMAC secret (algorithm confusion, CVE-2016-10555 class), in the given key encoding.
 */
export function hmacWithPublicKey(
  token: string,
  keys: SigningKeys,
  encoding: 'pem' | 'jwk' | 'der',
): string {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = rsaKey(keys)
  const publicKey = createPublicKey({ key: publicJwk as JsonWebKey, format: 'jwk' })
  const secret =
    encoding === 'jwk'
      ? JSON.stringify(publicJwk)
      : encoding === 'pem'
        ? (publicKey.export({ type: 'spki', format: 'pem' }) as string)
        : (publicKey.export({ type: 'spki', format: 'der' }) as Buffer)
  const header = { ...decodeProtectedHeader(token), alg: 'HS256' }
  const input = `${base64url.encode(JSON.stringify(header))}.${token.split('.')[1] ?? ''}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

/** The token with one character of its payload changed, signature kept. */
export function tampered(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string]
  const claims = decodeJwt(token)
  const changed = base64url.encode(
    JSON.stringify({ ...claims, scope: 'read:items write:items delete:items admin' }),
  )
  return `${header}.${changed === payload ? payload : changed}.${signature}`
}
