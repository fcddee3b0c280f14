import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  compileRequirement,
  createGuard,
  type Decision,
  type Guard,
  type ScopeguardOptions,
} from '../src/index.js'

const issuer = 'https://auth.example.com'
const audience = 'https://api.example.com'
let privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey']
let keys: ScopeguardOptions['keys']

beforeAll(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true })
  privateKey = pair.privateKey
  keys = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256' }] }
})

function sign(claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({
    iss: issuer,
    aud: audience,
    iat: now,
    exp: now + 300,
    client_id: 'c1',
    sub: 'c1',
    scope: 'read:items',
    ...claims,
  })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1', ...header })
    .sign(privateKey)
}

async function authenticate(guard: Guard, token: string): Promise<Decision> {
  return guard.authenticate({ method: 'GET', headers: { authorization: `Bearer ${token}` } })
}

const rejection = (decision: Decision): string | undefined =>
  decision.allowed ? undefined : decision.rejection

describe('createGuard with static keys', () => {
  it('accepts a valid token and exposes a frozen, prototype-free caller', async () => {
    const guard = createGuard({ issuer, audience, keys })
    const decision = await authenticate(guard, await sign({ jti: 't1' }))
    expect(decision.allowed).toBe(true)
    const auth = decision.auth
    expect(auth?.clientId).toBe('c1')
    expect([...(auth?.scopes ?? [])]).toEqual(['read:items'])
    expect(auth?.token).toMatchObject({
      format: 'jwt',
      id: 't1',
      issuer,
      audience: [audience],
      algorithm: 'ES256',
    })
    expect(Object.isFrozen(auth)).toBe(true)
    expect(Object.getPrototypeOf(auth?.claims)).toBe(null)
  })

  it('refuses ID tokens without an access-token typ, and any typ but at+jwt in strict mode', async () => {
    const guard = createGuard({ issuer, audience, keys })
    expect(rejection(await authenticate(guard, await sign({ nonce: 'n' }, { typ: 'JWT' })))).toBe(
      'id_token',
    )
    expect(
      rejection(await authenticate(guard, await sign({ at_hash: 'h' }, { typ: undefined }))),
    ).toBe('id_token')
    expect((await authenticate(guard, await sign({}, { typ: 'JWT' }))).allowed).toBe(true)
    expect(rejection(await authenticate(guard, await sign({}, { typ: 'id_token+jwt' })))).toBe(
      'type_not_allowed',
    )
    const strict = createGuard({ issuer, audience, keys, strict: true })
    expect(rejection(await authenticate(strict, await sign({}, { typ: 'JWT' })))).toBe(
      'type_not_allowed',
    )
    expect(
      (await authenticate(strict, await sign({}, { typ: 'application/at+jwt' }))).allowed,
    ).toBe(true)
  })

  it('tries every matching key for a token without kid (key rotation)', async () => {
    const older = await generateKeyPair('ES256', { extractable: true })
    const rotated = {
      keys: [{ ...(await exportJWK(older.publicKey)), alg: 'ES256' }, ...(keys?.keys ?? [])],
    }
    const guard = createGuard({
      issuer,
      audience,
      keys: { keys: rotated.keys.map(({ kid: _kid, ...k }) => k) },
    })
    const token = await sign({}, { kid: undefined })
    expect((await authenticate(guard, token)).allowed).toBe(true)
    const stranger = await generateKeyPair('ES256')
    const forged = await new SignJWT({
      iss: issuer,
      aud: audience,
      exp: Math.floor(Date.now() / 1000) + 60,
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' })
      .sign(stranger.privateKey)
    expect(rejection(await authenticate(guard, forged))).toBe('signature_invalid')
  })

  it('checks issuer and audience exactly', async () => {
    const guard = createGuard({ issuer, audience, keys })
    for (const iss of [`${issuer}/`, issuer.toUpperCase(), 'https://auth.example.com.evil']) {
      expect(rejection(await authenticate(guard, await sign({ iss })))).toBe('issuer_mismatch')
    }
    for (const aud of [`${audience}/`, [], ['https://other.example.com'], audience.toUpperCase()]) {
      expect(rejection(await authenticate(guard, await sign({ aud })))).toBe('audience_mismatch')
    }
    expect(
      (await authenticate(guard, await sign({ aud: ['https://other.example.com', audience] })))
        .allowed,
    ).toBe(true)
  })

  it('applies the clock tolerance and maxTokenAge', async () => {
    const now = Math.floor(Date.now() / 1000)
    const guard = createGuard({ issuer, audience, keys, clockTolerance: 30, maxTokenAge: 60 })
    expect((await authenticate(guard, await sign({ exp: now - 10 }))).allowed).toBe(true)
    expect(rejection(await authenticate(guard, await sign({ exp: now - 40 })))).toBe('expired')
    expect(rejection(await authenticate(guard, await sign({ nbf: now + 40 })))).toBe(
      'not_yet_valid',
    )
    expect(rejection(await authenticate(guard, await sign({ iat: now - 200 })))).toBe('too_old')
    expect(
      rejection(await authenticate(guard, await sign({ exp: 'tomorrow' as unknown as number }))),
    ).toBe('claim_invalid')
  })

  it('accepts HMAC only with an explicit secret and algorithm', async () => {
    const secret = 'a-shared-secret-of-at-least-32-bytes!'
    const now = Math.floor(Date.now() / 1000)
    const token = await new SignJWT({ iss: issuer, aud: audience, exp: now + 60, scope: 'a' })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
      .sign(new TextEncoder().encode(secret))
    expect(rejection(await authenticate(createGuard({ issuer, audience, keys }), token))).toBe(
      'algorithm_not_allowed',
    )
    const hmac = createGuard({ issuer, audience, secret, algorithms: ['HS256'] })
    expect((await authenticate(hmac, token)).allowed).toBe(true)
  })

  it('verifies a reused token once, and concurrent first uses once', async () => {
    const guard = createGuard({ issuer, audience, keys })
    const token = await sign({})
    const decisions = await Promise.all(
      Array.from({ length: 20 }, () => authenticate(guard, token)),
    )
    expect(decisions.every((d) => d.allowed)).toBe(true)
    expect(guard.stats()).toMatchObject({ jwtVerifications: 1, cacheHits: 19 })
    const uncached = createGuard({ issuer, audience, keys, cache: false })
    await Promise.all(Array.from({ length: 5 }, () => authenticate(uncached, token)))
    expect(uncached.stats().jwtVerifications).toBe(5)
  })

  it('never caches a rejection', async () => {
    const guard = createGuard({ issuer, audience, keys })
    const token = await sign({ aud: 'https://other.example.com' })
    await authenticate(guard, token)
    await authenticate(guard, token)
    expect(guard.stats()).toMatchObject({ jwtVerifications: 2, cacheHits: 0 })
  })

  it('gives a token refused on several counts the reason of the first check', async () => {
    const stranger = await generateKeyPair('ES256')
    const b64 = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url')
    const now = Math.floor(Date.now() / 1000)
    const body = b64({ iss: issuer, aud: audience, exp: now + 60 })
    const forged = (header: Record<string, unknown>): Promise<string> =>
      new SignJWT({ iss: issuer, aud: audience, exp: now + 60 })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1', ...header })
        .sign(stranger.privateKey)
    const cases: [string, string][] = [
      // A wrong type is refused before the signature and before any key is looked up.
      [await forged({ typ: 'id+jwt' }), 'type_not_allowed'],
      [await forged({ typ: 'id+jwt', kid: 'unknown' }), 'type_not_allowed'],
      // No algorithm, or one not allowed, is refused before the type and the header's other members.
      [`${b64({ typ: 'at+jwt' })}.${body}.c2ln`, 'algorithm_not_allowed'],
      [`${b64({ alg: 'HS256', typ: 'id+jwt' })}.${body}.c2ln`, 'algorithm_not_allowed'],
      [`${b64({ alg: 'HS256', crit: ['x'], x: 1 })}.${body}.c2ln`, 'algorithm_not_allowed'],
      [`${b64({ alg: 'ES256', typ: 'at+jwt', crit: ['x'], x: 1 })}.${body}.c2ln`, 'malformed'],
      [`bm90LWpzb24.${body}.c2ln`, 'malformed'],
      [await forged({ typ: 'at+jwt' }), 'signature_invalid'],
    ]
    const single = createGuard({ issuer, audience, keys })
    const several = createGuard({ issuer: [issuer, 'https://other.example.com'], audience, keys })
    for (const guard of [single, several]) {
      for (const [token, reason] of cases) {
        expect(rejection(await authenticate(guard, token)), reason).toBe(reason)
      }
    }
  })

  it('refuses opaque tokens when introspection is not configured', async () => {
    const guard = createGuard({ issuer, audience, keys })
    expect(rejection(await authenticate(guard, 'opaque-token-value'))).toBe('unsupported_format')
  })

  it('judges requirements and names the closest alternative as missing', async () => {
    const guard = createGuard({ issuer, audience, keys, realm: 'items' })
    const decision = await authenticate(guard, await sign({ scope: 'read:items write:items' }))
    const judged = guard.authorize(
      decision.auth,
      compileRequirement('(read:items and delete:items) or admin'),
    )
    expect(judged).toMatchObject({
      allowed: false,
      status: 403,
      code: 'ERR_SG_SCOPE_INSUFFICIENT',
      oauthError: 'insufficient_scope',
      missingScopes: ['delete:items'],
      headers: {
        'www-authenticate':
          'Bearer realm="items", error="insufficient_scope", scope="read:items delete:items"',
      },
    })
    expect(guard.authorize(undefined, compileRequirement('read:items'))).toMatchObject({
      status: 401,
      code: 'ERR_SG_TOKEN_MISSING',
    })
  })
})
