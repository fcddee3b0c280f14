import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import type { PolicyDocument, ScopeguardOptions } from '@scopeguard/core'

/** Issuer and audience of tests that sign their own tokens with a static key. */
export const ISSUER = 'https://auth.example.com'
export const AUDIENCE = 'https://items-api.scopeguard.test'

/** The items API's policy in those tests: `write:items` implies `read:items` and is elevatable. */
export const ITEMS_POLICY: PolicyDocument = {
  version: 1,
  scopes: {
    'read:items': {},
    'write:items': { implies: ['read:items'], elevatable: true },
    'delete:items': {},
    admin: {},
  },
  routes: {
    'GET /health': { public: true },
    'GET /items': 'read:items',
    'POST /items': 'write:items',
    'DELETE /items/:id': 'delete:items or admin',
    'GET /whoami': 'read:items',
  },
}

/** A real ES256 key: the guard's `keys` option, and a signer of RFC 9068 access tokens. */
export interface StaticSigner {
  readonly keys: NonNullable<ScopeguardOptions['keys']>
  /** Signs an access token (`scope: read:items`, ten minutes) with `claims` on top. */
  sign(claims: Record<string, unknown>): Promise<string>
}

export async function createStaticSigner(): Promise<StaticSigner> {
  const pair = await generateKeyPair('ES256', { extractable: true })
  return {
    keys: { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1' }] },
    sign(claims) {
      const now = Math.floor(Date.now() / 1000)
      return new SignJWT({
        iss: ISSUER,
        aud: AUDIENCE,
        iat: now,
        exp: now + 600,
        scope: 'read:items',
        ...claims,
      })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' })
        .sign(pair.privateKey)
    },
  }
}
