/**
 * Attack class: cache-key confusion (fast-jwt GHSA-c2ff-88x2-x9pg: a verified-token cache
 * whose key does not cover the whole token serves a forged token the result of a genuine
 * one). Once a valid token is cached, every token that differs from it in any character —
 * the signature, a trailing character, the payload, the header — must be verified on its own
 * and refused; the cache key (and `auth.token.fingerprint`) is the SHA-256 of the whole token.
 * Over real HTTP on both adapters, for JWTs and for introspected opaque tokens.
 */
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ScopeguardOptions } from '@scopeguard/core'
import { bearer, send } from '../support/http.js'
import { expectInvalidToken } from './support/expect-denial.js'
import { PROBE_ADAPTERS, type AuthDescription, type ProbeApi } from './support/probe-apps.js'
import { startFakeAuthz, type FakeAuthz } from './support/servers.js'
import { AUDIENCE, b64url, createSigningKit, ISSUER, REALM, signInput } from './support/signing.js'

const kit = createSigningKit()
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/
const sha256 = (text: string): string => createHash('sha256').update(text).digest('base64url')

const options = (extra: Partial<ScopeguardOptions> = {}): ScopeguardOptions => ({
  issuer: ISSUER,
  audience: AUDIENCE,
  keys: kit.jwks,
  realm: REALM,
  queryToken: true,
  ...extra,
})

/** A character of base64url other than `c`, that changes the decoded bits. */
const other = (c: string): string => (c === 'A' ? 'B' : 'A')

/** Tokens that differ from `token` and must each be verified, and refused, on their own. */
function lookalikes(token: string): [string, string][] {
  const [h = '', p = '', s = ''] = token.split('.')
  const input = `${h}.${p}`
  const flipCase = (text: string, at: number) => {
    const c = text[at] ?? 'a'
    const flipped = c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()
    return text.slice(0, at) + (flipped === c ? other(c) : flipped) + text.slice(at + 1)
  }
  return [
    [
      'the next-to-last signature character changed',
      `${input}.${s.slice(0, -2)}${other(s.at(-2) ?? '')}${s.at(-1)}`,
    ],
    ['the first signature character changed', `${input}.${other(s[0] ?? '')}${s.slice(1)}`],
    ['one signature character in the other case', `${input}.${flipCase(s, 10)}`],
    ['a character appended to the signature', `${token}A`],
    ['the last character removed', token.slice(0, -1)],
    ['the signature removed', `${input}.`],
    [
      'the signature of the attacker key',
      `${input}.${signInput(input, 'RS256', kit.attacker.rsa.privateKey)}`,
    ],
    ['one payload character in the other case', `${h}.${flipCase(p, 12)}.${s}`],
    [
      'the payload of a broader token, signature kept',
      `${h}.${b64url(JSON.stringify(kit.claims({ scope: 'read:items admin' })))}.${s}`,
    ],
    [
      'the header re-encoded with a space, signature kept',
      `${b64url(`${Buffer.from(h, 'base64url').toString()} `)}.${p}.${s}`,
    ],
    ['a trailing dot', `${token}.`],
    ['a trailing =', `${token}=`],
    ['a leading character', `A${token}`],
  ]
}

async function probe(api: ProbeApi, token: string): Promise<AuthDescription> {
  const response = await send(`${api.url}/probe`, { headers: [bearer(token)] })
  expect(response.status).toBe(200)
  return JSON.parse(response.body) as AuthDescription
}

describe.each(PROBE_ADAPTERS)('%s adapter: verified-token cache', (_name, startApi) => {
  let api: ProbeApi
  beforeAll(async () => {
    api = await startApi(options())
  })
  afterAll(() => api?.close())

  it('keys the cache and the fingerprint on the SHA-256 of the whole token', async () => {
    const token = kit.jwt(kit.claims({ jti: 'whole' }))
    const before = api.stats()
    expect((await probe(api, token)).fingerprint).toBe(sha256(token))
    expect((await probe(api, token)).fingerprint).toBe(sha256(token))
    expect(api.stats().jwtVerifications).toBe(before.jwtVerifications + 1)
    expect(api.stats().cacheHits).toBe(before.cacheHits + 1)
  })

  it('refuses every look-alike of a cached token, each verified on its own (GHSA-c2ff-88x2-x9pg)', async () => {
    const token = kit.jwt(kit.claims({ jti: 'cached' }))
    expect((await send(`${api.url}/items`, { headers: [bearer(token)] })).status).toBe(200)
    for (const [name, forged] of lookalikes(token)) {
      const before = api.stats()
      const response = await send(`${api.url}/admin`, { headers: [bearer(forged)] })
      expect.soft(response.status, name).toBe(401)
      expectInvalidToken(response)
      expect(api.stats().cacheHits, name).toBe(before.cacheHits)
      // The genuine token is still served, from the cache, after each refusal.
      const genuine = await send(`${api.url}/items`, { headers: [bearer(token)] })
      expect(genuine.status, name).toBe(200)
      expect(api.stats().cacheHits, name).toBe(before.cacheHits + 1)
    }
  })

  it('refuses a forgery sent first, then serves the genuine token (errors are not cached)', async () => {
    const token = kit.jwt(kit.claims({ jti: 'forgery-first' }))
    for (const [name, forged] of lookalikes(token)) {
      expect((await send(`${api.url}/items`, { headers: [bearer(forged)] })).status, name).toBe(401)
    }
    expect((await send(`${api.url}/items`, { headers: [bearer(token)] })).status).toBe(200)
  })

  it('keeps genuine and forged tokens apart in a concurrent burst on a cold cache', async () => {
    const cold = await startApi(options())
    try {
      const token = kit.jwt(kit.claims({ jti: 'burst' }))
      const forged = lookalikes(token).map(([, t]) => t)
      const requests = Array.from({ length: 26 }, (_, i) =>
        i % 2 === 0 ? token : (forged[i % forged.length] as string),
      )
      const statuses = await Promise.all(
        requests.map(
          async (t) =>
            [
              t === token,
              (await send(`${cold.url}/items`, { headers: [bearer(t)] })).status,
            ] as const,
        ),
      )
      for (const [genuine, status] of statuses) expect(status).toBe(genuine ? 200 : 401)
      // The 13 genuine requests shared one verification; each JWT-shaped forgery had its own.
      const jwtShaped = new Set(requests.filter((t) => t !== token && JWT_SHAPE.test(t)))
      expect(cold.stats().jwtVerifications).toBe(1 + jwtShaped.size)
    } finally {
      await cold.close()
    }
  })

  it('never lets a cached narrow token answer for a broader one, across LRU evictions', async () => {
    const small = await startApi(options({ cache: { maxEntries: 2 } }))
    try {
      const tokens = ['read:items', 'admin', 'read:items admin', 'read:items'].map((scope, i) =>
        kit.jwt(kit.claims({ scope, jti: `lru-${i}` })),
      )
      for (let round = 0; round < 3; round++) {
        for (const token of tokens) {
          const seen = await probe(small, token)
          expect(seen.fingerprint).toBe(sha256(token))
          expect(seen.scopes.join(' ')).toBe(
            (
              JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
                scope: string
              }
            ).scope
              .split(' ')
              .sort()
              .join(' '),
          )
        }
      }
    } finally {
      await small.close()
    }
  })

  it('shares an entry only for the very same token, whichever transport or scheme spelling carried it', async () => {
    const token = kit.jwt(kit.claims({ jti: 'transports' }))
    const before = api.stats()
    expect((await send(`${api.url}/items`, { headers: [bearer(token)] })).status).toBe(200)
    expect((await send(`${api.url}/items?access_token=${token}`)).status).toBe(200)
    expect(
      (await send(`${api.url}/items`, { headers: [['Authorization', `bEaReR ${token}`]] })).status,
    ).toBe(200)
    expect(api.stats().jwtVerifications).toBe(before.jwtVerifications + 1)
    expect(api.stats().cacheHits).toBe(before.cacheHits + 2)
  })

  it('non-canonical base64url spellings of one signature are distinct cache entries (jose accepts them)', async () => {
    // The last character of a 256-byte RSA signature carries 2 bits and 4 zero padding bits
    // (RFC 4648 §3.5); a lenient decoder maps 16 spellings to the same bytes. scopeguard
    // verifies each spelling on its own: no spelling can reuse another's cache entry.
    const token = kit.jwt(kit.claims({ jti: 'canonical' }))
    const last = ALPHABET.indexOf(token.at(-1) ?? 'A')
    const spellings = [1, 7, 15].map(
      (low) => `${token.slice(0, -1)}${ALPHABET[(last & 0x30) | low]}`,
    )
    const before = api.stats().jwtVerifications
    const seen = await Promise.all(spellings.map((t) => probe(api, t)))
    expect(new Set(seen.map((s) => s.fingerprint)).size).toBe(spellings.length)
    expect(seen.map((s) => s.fingerprint)).toEqual(spellings.map(sha256))
    expect(api.stats().jwtVerifications).toBe(before + spellings.length)
  })
})

describe.each(PROBE_ADAPTERS)('%s adapter: introspection cache', (_name, startApi) => {
  let authz: FakeAuthz
  let api: ProbeApi
  const GOOD = 'opaque-good-token-0123456789'
  const introspected: string[] = []
  beforeAll(async () => {
    authz = await startFakeAuthz({ keys: [] })
    authz.on('/introspect', (_req, res, body) => {
      const token = new URLSearchParams(body).get('token') ?? ''
      introspected.push(token)
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify(
          token === GOOD
            ? {
                active: true,
                aud: AUDIENCE,
                scope: 'read:items',
                client_id: 'legacy',
                exp: Math.floor(Date.now() / 1000) + 600,
              }
            : { active: false },
        ),
      )
    })
    api = await startApi({
      issuer: authz.issuer,
      audience: AUDIENCE,
      realm: REALM,
      introspection: {
        clientId: 'api',
        clientSecret: 'api-secret',
        endpoint: authz.introspectionUri,
      },
    })
  })
  afterAll(async () => {
    await api?.close()
    await authz?.close()
  })

  it('introspects every token that differs from a cached active one (GHSA-c2ff-88x2-x9pg)', async () => {
    expect((await send(`${api.url}/items`, { headers: [bearer(GOOD)] })).status).toBe(200)
    expect((await send(`${api.url}/items`, { headers: [bearer(GOOD)] })).status).toBe(200)
    expect(introspected).toEqual([GOOD])
    const variants = [
      `${GOOD}0`,
      GOOD.slice(0, -1),
      GOOD.toUpperCase(),
      `${GOOD.slice(0, -1)}8`,
      `A${GOOD}`,
    ]
    for (const variant of variants) {
      expectInvalidToken(await send(`${api.url}/items`, { headers: [bearer(variant)] }))
    }
    expect(introspected).toEqual([GOOD, ...variants])
    // Inactive answers are not cached either: each attempt asks again.
    expectInvalidToken(await send(`${api.url}/items`, { headers: [bearer(variants[0] as string)] }))
    expect(introspected).toHaveLength(variants.length + 2)
  })
})
