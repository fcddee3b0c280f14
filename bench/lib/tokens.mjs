// Tokens for the benchmarks: real ones from the local authorization server, and, for the
// cold path, many more signed with the same keys and claims (each with its own `jti`).
import { decodeJwt, decodeProtectedHeader, importJWK, SignJWT } from 'jose'

/**
 * Signs `count` tokens like `template` (same header, claims and key, fresh `jti`, `iat` now,
 * valid for `ttl` seconds) with the private JWK the authorization server signed it with.
 */
export async function mintLike(template, privateJwks, count, ttl = 7200) {
  const header = decodeProtectedHeader(template)
  const claims = decodeJwt(template)
  const jwk = privateJwks.find((key) => key.kid === header.kid)
  if (jwk === undefined) throw new Error(`no private key with kid ${header.kid}`)
  const key = await importJWK(jwk, header.alg)
  const now = Math.floor(Date.now() / 1000)
  const tokens = []
  const batch = 64
  for (let i = 0; i < count; i += batch) {
    const signing = []
    for (let j = i; j < Math.min(count, i + batch); j++) {
      signing.push(
        new SignJWT({ ...claims, jti: `${claims.jti}.${j}`, iat: now, exp: now + ttl })
          .setProtectedHeader(header)
          .sign(key),
      )
    }
    tokens.push(...(await Promise.all(signing)))
  }
  return tokens
}
