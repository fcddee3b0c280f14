/**
 * Tokens of the security suites, signed with node:crypto over the exact header and payload
 * texts, so that a test controls every byte (duplicate JSON members, odd types, `crit`,
 * `b64: false`, a header `alg` that does not match the key that signed).
 */
import {
  constants,
  createPrivateKey,
  generateKeyPairSync,
  sign as cryptoSign,
  type KeyObject,
} from 'node:crypto'
import type { JWK } from 'jose'

export const ISSUER = 'https://auth.scopeguard.test'
export const AUDIENCE = 'https://items-api.scopeguard.test'
export const REALM = 'items-api'

/** Every challenge a guard with realm `items-api` may send, and nothing else. */
export const CHALLENGES = {
  missing: `Bearer realm="${REALM}"`,
  invalidRequest: `Bearer realm="${REALM}", error="invalid_request"`,
  invalidToken: `Bearer realm="${REALM}", error="invalid_token"`,
  /** `Authorization: DPoP` with a token that is not DPoP-bound (dpop.mode allowed, RFC 9449 §7.1). */
  dpopInvalidToken: `DPoP realm="${REALM}", algs="ES256 ES384 ES512 PS256 PS384 PS512 RS256 RS384 RS512 EdDSA Ed25519", error="invalid_token", Bearer realm="${REALM}"`,
  forbidden: `Bearer realm="${REALM}", error="insufficient_scope"`,
  insufficient: (scope: string): string =>
    `Bearer realm="${REALM}", error="insufficient_scope", scope="${scope}"`,
} as const

/** How a token is signed: the key and the JWS algorithm actually used for the signature. */
export type Signer = 'RS256' | 'RS384' | 'PS256' | 'ES256' | 'ES384'

export interface KeyPair {
  readonly privateKey: KeyObject
  readonly publicKey: KeyObject
  /** The public JWK as published (with kid, alg, use). */
  readonly jwk: JWK
}

/** Keys of a test issuer: RSA (kid rsa-1, RS256), EC P-256 (ec-1, ES256), EC P-384 (ec-384). */
export interface SigningKit {
  readonly rsa: KeyPair
  readonly ec: KeyPair
  readonly ec384: KeyPair
  /** An attacker's keys: never published by the issuer. */
  readonly attacker: { readonly rsa: KeyPair; readonly ec: KeyPair }
  /** The issuer's public JWK Set, for the `keys` option. */
  readonly jwks: { keys: JWK[] }
  /** Claims of a valid access token (valid for 10 minutes from `now` seconds). */
  claims(extra?: Record<string, unknown>, now?: number): Record<string, unknown>
  /** A compact JWS of the given header and payload objects (kid of the signing key by default). */
  jwt(
    payload: Record<string, unknown>,
    header?: Record<string, unknown>,
    signer?: Signer,
    key?: KeyPair,
  ): string
  /** A compact JWS over the exact texts given (the header and payload are base64url-encoded as is). */
  raw(headerText: string, payloadText: string, signer?: Signer, key?: KeyPair): string
}

export const b64url = (text: string | Buffer): string => Buffer.from(text).toString('base64url')

function pair(kind: 'rsa' | 'ec256' | 'ec384', kid: string, alg: string): KeyPair {
  const { privateKey, publicKey } =
    kind === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: kind === 'ec256' ? 'P-256' : 'P-384' })
  const jwk = { ...(publicKey.export({ format: 'jwk' }) as JWK), kid, alg, use: 'sig' }
  return { privateKey, publicKey, jwk }
}

/** Signs `input` as the JWS algorithm `signer` would. */
export function signInput(input: string, signer: Signer, key: KeyObject): string {
  const data = Buffer.from(input)
  switch (signer) {
    case 'RS256':
      return cryptoSign('sha256', data, key).toString('base64url')
    case 'RS384':
      return cryptoSign('sha384', data, key).toString('base64url')
    case 'PS256':
      return cryptoSign('sha256', data, {
        key,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 32,
      }).toString('base64url')
    case 'ES256':
      return cryptoSign('sha256', data, { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')
    case 'ES384':
      return cryptoSign('sha384', data, { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')
  }
}

export function createSigningKit(): SigningKit {
  const rsa = pair('rsa', 'rsa-1', 'RS256')
  const ec = pair('ec256', 'ec-1', 'ES256')
  const ec384 = pair('ec384', 'ec-384', 'ES384')
  const attacker = { rsa: pair('rsa', 'rsa-1', 'RS256'), ec: pair('ec256', 'ec-1', 'ES256') }
  const keyFor = (signer: Signer): KeyPair =>
    signer.startsWith('ES') ? (signer === 'ES384' ? ec384 : ec) : rsa
  const raw = (
    headerText: string,
    payloadText: string,
    signer: Signer = 'RS256',
    key?: KeyPair,
  ) => {
    const input = `${b64url(headerText)}.${b64url(payloadText)}`
    return `${input}.${signInput(input, signer, (key ?? keyFor(signer)).privateKey)}`
  }
  return {
    rsa,
    ec,
    ec384,
    attacker,
    jwks: { keys: [rsa.jwk, ec.jwk, ec384.jwk] },
    claims: (extra = {}, now = Math.floor(Date.now() / 1000)) => ({
      iss: ISSUER,
      aud: AUDIENCE,
      sub: 'user-1',
      client_id: 'client-1',
      iat: now,
      exp: now + 600,
      scope: 'read:items',
      ...extra,
    }),
    jwt: (payload, header = {}, signer = 'RS256', key) =>
      raw(
        JSON.stringify({
          alg: signer,
          typ: 'at+jwt',
          kid: (key ?? keyFor(signer)).jwk.kid,
          ...header,
        }),
        JSON.stringify(payload),
        signer,
        key,
      ),
    raw,
  }
}

/** The private JWK of a key pair (for libraries that take JWKs). */
export function privateJwk(key: KeyPair): JWK {
  return key.privateKey.export({ format: 'jwk' }) as JWK
}

/** A private key object from a JWK (the authorization server's keys are JWKs). */
export function keyFromJwk(jwk: JWK): KeyObject {
  return createPrivateKey({ key: jwk as never, format: 'jwk' })
}
