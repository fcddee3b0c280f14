import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose'

/** A private JSON Web Key Set the server signs with. */
export interface SigningKeySet {
  keys: JWK[]
}

type SigningAlg = 'RS256' | 'ES256'

/**
 * Generates one RS256 (RSA 2048) and one ES256 (P-256) private key, each with `alg`,
 * `use: 'sig'` and its JWK thumbprint as `kid`: a key set `startAuthzServer` can sign with.
 *
 * @example
 * const keys = await generateSigningKeys()
 * const server = await startAuthzServer({ keys })
 */
export async function generateSigningKeys(): Promise<SigningKeySet> {
  const [rsa, ec] = await Promise.all([generatePrivateJwk('RS256'), generatePrivateJwk('ES256')])
  return { keys: [rsa, ec] }
}

async function generatePrivateJwk(alg: SigningAlg): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true })
  return withSigningMembers(await exportJWK(privateKey), alg)
}

async function withSigningMembers(jwk: JWK, alg: string): Promise<JWK> {
  return { ...jwk, alg, use: 'sig', kid: jwk.kid ?? (await calculateJwkThumbprint(jwk)) }
}

function defaultAlg(jwk: JWK): string | undefined {
  if (jwk.alg !== undefined) return jwk.alg
  if (jwk.kty === 'RSA') return 'RS256'
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256'
  return undefined
}

/**
 * Checks a key set given to `startAuthzServer` and completes its keys: every key must be
 * private, and the set must hold an RS256 and an ES256 key. A key without `alg` gets the one
 * of its type (RS256 for RSA, ES256 for P-256), without `kid` its JWK thumbprint, and all get
 * `use: 'sig'`, so that oidc-provider ranks them alike and the FIRST key of each algorithm
 * signs; the others are only published in the JWKS.
 *
 * @example
 * const keys = await prepareSigningKeys({ keys: [...newKeys.keys, ...oldKeys.keys] })
 */
export async function prepareSigningKeys(set: SigningKeySet): Promise<JWK[]> {
  if (!Array.isArray(set.keys) || set.keys.length === 0) {
    throw new TypeError('startAuthzServer: `keys` must be a JWK Set with a non-empty `keys` array')
  }
  const keys = await Promise.all(
    set.keys.map(async (jwk, index) => {
      const alg = defaultAlg(jwk)
      if (jwk.d === undefined || alg === undefined) {
        throw new TypeError(
          `startAuthzServer: keys[${index}] must be a private RSA or EC key (with "d"); ` +
            'use generateSigningKeys() to make some',
        )
      }
      return withSigningMembers(jwk, alg)
    }),
  )
  for (const alg of ['RS256', 'ES256'] satisfies SigningAlg[]) {
    if (!keys.some((jwk) => jwk.alg === alg)) {
      throw new TypeError(
        `startAuthzServer: \`keys\` has no ${alg} key; add one (generateSigningKeys() makes both)`,
      )
    }
  }
  return keys
}
