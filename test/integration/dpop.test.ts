import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { generateKeyPair, exportJWK } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEMO_CLIENTS, LEGACY_API } from '@scopeguard-examples/authz-server'
import type { DecisionEvent, PolicyDocument, ScopeguardEvent } from '@scopeguard/core'
import { redisStore } from '@scopeguard/redis'
import { REALM } from '../cases/bearer-cases.js'
import { ADAPTERS, type TestApi } from '../support/apps.js'
import { bearer, send, type RawResponse } from '../support/http.js'
import {
  dpopClient,
  handProof,
  hmacProof,
  strangerKey,
  unsignedProof,
  type DpopClient,
  type ProofClaims,
} from '../support/dpop-kit.js'
import { startRedis, type RedisServer } from '../support/redis-server.js'
import { apiOptions, startAuthzFixture, type AuthzFixture } from '../support/token-kit.js'

/**
 * DPoP (RFC 9449) against both adapters, with DPoP-bound tokens issued by the local
 * authorization server to a client using openid-client's DPoP support, and proofs made by
 * openid-client for the requests a real client sends (valid requests, nonce challenge and
 * retry). The negative cases use proofs hand-made with jose: real signatures, one thing wrong.
 */

const ALGS = 'ES256 ES384 ES512 PS256 PS384 PS512 RS256 RS384 RS512 EdDSA Ed25519'
const dpopChallenge = (error?: string, withBearer = true): string =>
  `DPoP realm="${REALM}", algs="${ALGS}"` +
  (error === undefined ? '' : `, error="${error}"`) +
  (withBearer ? `, Bearer realm="${REALM}"` : '')
const BEARER_INVALID = `Bearer realm="${REALM}", error="invalid_token"`

let fixture: AuthzFixture
let reader: DpopClient
let plain: string

beforeAll(async () => {
  fixture = await startAuthzFixture()
  reader = await dpopClient(fixture.authz, DEMO_CLIENTS.reader)
  plain = await fixture.authz.token(DEMO_CLIENTS.reader)
})
afterAll(() => fixture?.close())

/** `Authorization: DPoP <token>` and `DPoP: <proof>`. */
function dpopHeaders(token: string, proof: string): [string, string][] {
  return [
    ['Authorization', `DPoP ${token}`],
    ['DPoP', proof],
  ]
}

/** The `cnf.jkt` of a JWT access token. */
function jktOf(token: string): string {
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
    cnf: { jkt: string }
  }
  return payload.cnf.jkt
}

/** The decision events of a guard, and the last one's rejection. */
function recorder(): { events: ScopeguardEvent[]; last: () => DecisionEvent | undefined } {
  const events: ScopeguardEvent[] = []
  return {
    events,
    last: () => events.filter((e): e is DecisionEvent => e.type === 'decision').at(-1),
  }
}

describe.each(ADAPTERS)('%s adapter: DPoP in allowed mode (the default)', (_name, startApi) => {
  let api: TestApi
  const seen = recorder()
  beforeAll(async () => {
    api = await startApi(apiOptions(fixture.authz, { onEvent: (e) => seen.events.push(e) }))
  })
  afterAll(() => api?.close())

  /** A proof of the reader's key for GET /items with the reader's token, changed by `change`. */
  const proofFor = (change: Partial<ProofClaims> = {}): Promise<string> =>
    handProof(reader.keyPair, reader.publicJwk, {
      htm: 'GET',
      htu: `${api.url}/items`,
      token: reader.token,
      ...change,
    })
  const expectRefused = (response: RawResponse, challenge: string, rejection: string): void => {
    expect(response.status).toBe(401)
    expect(response.headers['www-authenticate']).toBe(challenge)
    expect(response.body).toBe('')
    expect(seen.last()?.rejection).toBe(rejection)
  }

  it('accepts a request that openid-client makes with its DPoP-bound token, and shows the binding', async () => {
    const response = await reader.fetch(`${api.url}/whoami`)
    expect(response.status).toBe(200)
    const body = (await response.json()) as { clientId: string; binding: unknown }
    const sent = reader.sent.at(-1)
    expect(sent?.authorization).toBe(`DPoP ${reader.token}`)
    expect(sent?.dpop).toBeDefined()
    expect(body.clientId).toBe('reader')
    expect(body.binding).toEqual({ kind: 'dpop', jkt: jktOf(reader.token) })
  })

  it('refuses the same proof replayed to the same instance', async () => {
    const response = await reader.fetch(`${api.url}/items`)
    expect(response.status).toBe(200)
    const sent = reader.sent.at(-1)
    const replay = await send(`${api.url}/items`, {
      headers: dpopHeaders(reader.token, sent?.dpop ?? ''),
    })
    expectRefused(replay, dpopChallenge('invalid_dpop_proof'), 'dpop_replay')
  })

  it('accepts a hand-made proof with every member right (the control of the cases below)', async () => {
    const response = await send(`${api.url}/items`, {
      headers: dpopHeaders(reader.token, await proofFor()),
    })
    expect(response.status).toBe(200)
  })

  it('answers a DPoP request without the scope with a DPoP insufficient_scope challenge', async () => {
    const proof = await handProof(reader.keyPair, reader.publicJwk, {
      htm: 'POST',
      htu: `${api.url}/items`,
      token: reader.token,
    })
    const response = await send(`${api.url}/items`, {
      method: 'POST',
      headers: dpopHeaders(reader.token, proof),
    })
    expect(response.status).toBe(403)
    expect(response.headers['www-authenticate']).toBe(
      `DPoP realm="${REALM}", algs="${ALGS}", error="insufficient_scope", scope="write:items", Bearer realm="${REALM}"`,
    )
  })

  it('compares htu without the query (RFC 9449 §4.3)', async () => {
    const response = await send(`${api.url}/items?page=2`, {
      headers: dpopHeaders(reader.token, await proofFor()),
    })
    expect(response.status).toBe(200)
  })

  it('refuses the DPoP-bound token sent as a plain bearer token, like any bad token', async () => {
    expectRefused(
      await send(`${api.url}/items`, { headers: [bearer(reader.token)] }),
      BEARER_INVALID,
      'key_bound',
    )
    expectRefused(
      await send(`${api.url}/items`, {
        headers: [bearer(reader.token), ['DPoP', await proofFor()]],
      }),
      BEARER_INVALID,
      'key_bound',
    )
  })

  it('accepts an opaque DPoP-bound token (introspection answers cnf.jkt) with its proof', async () => {
    const legacy = await dpopClient(fixture.authz, DEMO_CLIENTS.legacy, {
      resource: LEGACY_API,
    })
    expect(legacy.token.split('.')).toHaveLength(1) // opaque
    const response = await legacy.fetch(`${api.url}/whoami`)
    expect(response.status).toBe(200)
    expect(((await response.json()) as { binding?: { kind: string } }).binding?.kind).toBe('dpop')
    expectRefused(
      await send(`${api.url}/whoami`, { headers: [bearer(legacy.token)] }),
      BEARER_INVALID,
      'key_bound',
    )
  })

  it('still accepts plain bearer tokens', async () => {
    expect((await send(`${api.url}/items`, { headers: [bearer(plain)] })).status).toBe(200)
  })

  it('refuses the DPoP scheme with a token that is not bound to a key', async () => {
    const stranger = await strangerKey()
    const proof = await handProof(stranger.keyPair, stranger.publicJwk, {
      htm: 'GET',
      htu: `${api.url}/items`,
      token: plain,
    })
    expectRefused(
      await send(`${api.url}/items`, { headers: dpopHeaders(plain, proof) }),
      dpopChallenge('invalid_token'),
      'dpop_unbound',
    )
  })

  it('refuses the DPoP scheme without a proof, or with two DPoP headers', async () => {
    expectRefused(
      await send(`${api.url}/items`, { headers: [['Authorization', `DPoP ${reader.token}`]] }),
      dpopChallenge('invalid_dpop_proof'),
      'dpop_proof_missing',
    )
    expectRefused(
      await send(`${api.url}/items`, {
        headers: [...dpopHeaders(reader.token, await proofFor()), ['DPoP', await proofFor()]],
      }),
      dpopChallenge('invalid_dpop_proof'),
      'dpop_proof_invalid',
    )
  })

  const now = (): number => Math.floor(Date.now() / 1000)
  const BAD_PROOFS: [string, string, () => Promise<string>][] = [
    ['wrong htm (POST for a GET)', 'dpop_htm_mismatch', () => proofFor({ htm: 'POST' })],
    ['lower-case htm', 'dpop_htm_mismatch', () => proofFor({ htm: 'get' })],
    ['wrong htu path', 'dpop_htu_mismatch', () => proofFor({ htu: `${api.url}/whoami` })],
    [
      'wrong htu host',
      'dpop_htu_mismatch',
      () => proofFor({ htu: `${api.url.replace('127.0.0.1', 'localhost')}/items` }),
    ],
    [
      'wrong htu scheme',
      'dpop_htu_mismatch',
      () => proofFor({ htu: `${api.url.replace('http:', 'https:')}/items` }),
    ],
    ['stale iat (10 minutes old)', 'dpop_iat_invalid', () => proofFor({ iat: now() - 600 })],
    ['iat in the future', 'dpop_iat_invalid', () => proofFor({ iat: now() + 600 })],
    ['ath of another token', 'dpop_ath_mismatch', () => proofFor({ token: plain })],
    ['no ath', 'dpop_ath_mismatch', () => proofFor({ token: undefined })],
    [
      'a key the token is not bound to (mismatched jkt)',
      'dpop_jkt_mismatch',
      async () => {
        const stranger = await strangerKey()
        return handProof(stranger.keyPair, stranger.publicJwk, {
          htm: 'GET',
          htu: `${api.url}/items`,
          token: reader.token,
        })
      },
    ],
    [
      "the bound key's jwk, signed by another key",
      'dpop_proof_invalid',
      async () => {
        const stranger = await strangerKey()
        return handProof(stranger.keyPair, reader.publicJwk, {
          htm: 'GET',
          htu: `${api.url}/items`,
          token: reader.token,
        })
      },
    ],
    ['typ JWT', 'dpop_proof_invalid', () => proofFor({ header: { typ: 'JWT' } })],
    ['no typ', 'dpop_proof_invalid', () => proofFor({ header: { typ: undefined } })],
    [
      'alg none',
      'dpop_proof_invalid',
      () =>
        Promise.resolve(
          unsignedProof(reader.publicJwk, {
            htm: 'GET',
            htu: `${api.url}/items`,
            token: reader.token,
          }),
        ),
    ],
    [
      'HS256',
      'dpop_proof_invalid',
      () =>
        hmacProof(
          reader.publicJwk,
          { htm: 'GET', htu: `${api.url}/items`, token: reader.token },
          new TextEncoder().encode('a-shared-secret-of-at-least-32-bytes!'),
        ),
    ],
    [
      'a private key in jwk',
      'dpop_proof_invalid',
      async () => {
        const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
        const privateJwk = await exportJWK(privateKey)
        return handProof({ privateKey, publicKey } as never, privateJwk, {
          htm: 'GET',
          htu: `${api.url}/items`,
          token: reader.token,
        })
      },
    ],
    ['no jwk', 'dpop_proof_invalid', () => proofFor({ header: { jwk: undefined } })],
    ['no jti', 'dpop_proof_invalid', () => proofFor({ jti: undefined })],
    ['no iat', 'dpop_proof_invalid', () => proofFor({ claims: { iat: undefined } })],
    ['not a JWT', 'dpop_proof_invalid', () => Promise.resolve('not-a-proof')],
  ]

  it.each(BAD_PROOFS)('refuses a proof with %s', async (_what, rejection, make) => {
    const response = await send(`${api.url}/items`, {
      headers: dpopHeaders(reader.token, await make()),
    })
    expectRefused(response, dpopChallenge('invalid_dpop_proof'), rejection)
  })

  it('records every decision as an event valid against docs/events.schema.json', () => {
    // ajv is a dependency of @scopeguard/core, not of the workspace root: load core's copy.
    const requireFromCore = createRequire(
      new URL('../../packages/core/package.json', import.meta.url),
    )
    const Ajv = (
      requireFromCore('ajv') as {
        default: new (options: Record<string, unknown>) => {
          compile(schema: object): ((data: unknown) => boolean) & { errors?: unknown }
        }
      }
    ).default
    const schema = JSON.parse(
      readFileSync(new URL('../../docs/events.schema.json', import.meta.url), 'utf8'),
    ) as object
    const validate = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(
      schema,
    )
    const decisions = seen.events.filter((e) => e.type === 'decision')
    expect(new Set(decisions.map((e) => e.reason))).toEqual(
      new Set(['allowed', 'token_invalid', 'proof_invalid', 'scope_insufficient']),
    )
    expect(decisions.some((e) => e.allowed && e.binding?.jkt === jktOf(reader.token))).toBe(true)
    expect(decisions.some((e) => e.allowed && e.binding === undefined)).toBe(true) // bearer
    for (const event of seen.events) {
      const json: unknown = JSON.parse(JSON.stringify(event))
      expect(validate(json), JSON.stringify(validate.errors)).toBe(true)
    }
  })

  it('answers every bad proof with a byte-identical 401', async () => {
    const responses: RawResponse[] = []
    for (const [, , make] of BAD_PROOFS)
      responses.push(
        await send(`${api.url}/items`, { headers: dpopHeaders(reader.token, await make()) }),
      )
    const first = responses[0]
    for (const response of responses) {
      expect(response.status).toBe(401)
      expect(response.rawHeaders).toEqual(first?.rawHeaders)
    }
  })
})

describe.each(ADAPTERS)('%s adapter: DPoP nonces (RFC 9449 §9)', (_name, startApi) => {
  const secret = 'the-nonce-secret-every-instance-shares'
  let api: TestApi
  let twin: TestApi
  const seen = recorder()
  beforeAll(async () => {
    api = await startApi(
      apiOptions(fixture.authz, {
        dpop: { nonce: { secret } },
        onEvent: (e) => seen.events.push(e),
      }),
    )
    twin = await startApi(apiOptions(fixture.authz, { dpop: { nonce: { secret } } }))
  })
  afterAll(async () => {
    await Promise.all([api?.close(), twin?.close()])
  })

  it('challenges a proof without a nonce with use_dpop_nonce, and openid-client retries with it', async () => {
    const before = reader.sent.length
    const response = await reader.fetch(`${api.url}/items`)
    expect(response.status).toBe(200)
    const [challenged, retried, ...rest] = reader.sent.slice(before)
    expect(rest).toEqual([])
    expect(challenged?.status).toBe(401)
    expect(challenged?.wwwAuthenticate).toBe(dpopChallenge('use_dpop_nonce'))
    expect(challenged?.dpopNonce).toMatch(/^[a-z0-9]+\.[A-Za-z0-9_-]{22}$/)
    expect(retried?.status).toBe(200)
    expect(retried?.dpopNonce).toBe(challenged?.dpopNonce)
    const proofPayload = JSON.parse(
      Buffer.from(retried?.dpop?.split('.')[1] ?? '', 'base64url').toString(),
    ) as { nonce?: string }
    expect(proofPayload.nonce).toBe(challenged?.dpopNonce)

    // The client keeps the nonce: the next request needs no challenge.
    const again = await reader.fetch(`${api.url}/items`)
    expect(again.status).toBe(200)
    expect(reader.sent.slice(before + 2).map((s) => s.status)).toEqual([200])
  })

  it('refuses a nonce it did not issue', async () => {
    const response = await send(`${api.url}/items`, {
      headers: dpopHeaders(
        reader.token,
        await handProof(reader.keyPair, reader.publicJwk, {
          htm: 'GET',
          htu: `${api.url}/items`,
          token: reader.token,
          nonce: 'abc.forgedforgedforgedforged',
        }),
      ),
    })
    expect(response.status).toBe(401)
    expect(response.headers['www-authenticate']).toBe(dpopChallenge('use_dpop_nonce'))
    expect(response.headers['dpop-nonce']).toBeDefined()
    expect(seen.last()?.rejection).toBe('dpop_nonce_invalid')
  })

  it('accepts on another instance with the same secret a nonce the first one issued', async () => {
    const challenged = await send(`${api.url}/items`, {
      headers: dpopHeaders(
        reader.token,
        await handProof(reader.keyPair, reader.publicJwk, {
          htm: 'GET',
          htu: `${api.url}/items`,
          token: reader.token,
        }),
      ),
    })
    expect(challenged.status).toBe(401)
    const nonce = challenged.headers['dpop-nonce'] as string | undefined
    expect(nonce).toBeDefined()
    const response = await send(`${twin.url}/items`, {
      headers: dpopHeaders(
        reader.token,
        await handProof(reader.keyPair, reader.publicJwk, {
          htm: 'GET',
          htu: `${twin.url}/items`,
          token: reader.token,
          nonce,
        }),
      ),
    })
    expect(response.status).toBe(200)
    expect(response.headers['dpop-nonce']).toBe(nonce)
  })
})

const ITEMS_SCOPES: PolicyDocument['scopes'] = {
  'read:items': {},
  'write:items': {},
  'delete:items': {},
  admin: {},
}

describe.each(ADAPTERS)('%s adapter: DPoP required, globally and per route', (_name, startApi) => {
  let required: TestApi
  let perRoute: TestApi
  let relaxed: TestApi
  const seen = recorder()
  beforeAll(async () => {
    const onEvent = (e: ScopeguardEvent): number => seen.events.push(e)
    required = await startApi(apiOptions(fixture.authz, { dpop: { mode: 'required' }, onEvent }))
    perRoute = await startApi(
      apiOptions(fixture.authz, {
        onEvent,
        policy: {
          version: 1,
          scopes: ITEMS_SCOPES,
          routes: {
            'GET /items': { require: 'read:items', dpop: 'required' },
            'GET /whoami': { require: 'read:items', dpop: 'disabled' },
          },
        },
      }),
    )
    relaxed = await startApi(
      apiOptions(fixture.authz, {
        onEvent,
        dpop: { mode: 'required' },
        policy: {
          version: 1,
          scopes: ITEMS_SCOPES,
          routes: {
            'GET /items': 'read:items',
            'GET /whoami': { require: 'read:items', dpop: 'allowed' },
          },
        },
      }),
    )
  })
  afterAll(async () => {
    await Promise.all([required?.close(), perRoute?.close(), relaxed?.close()])
  })

  it('required: refuses a bearer token and a missing one with the DPoP challenge only', async () => {
    const bearerResponse = await send(`${required.url}/items`, { headers: [bearer(plain)] })
    expect(bearerResponse.status).toBe(401)
    expect(bearerResponse.headers['www-authenticate']).toBe(dpopChallenge('invalid_token', false))
    expect(seen.last()?.rejection).toBe('dpop_required')
    const missing = await send(`${required.url}/items`)
    expect(missing.status).toBe(401)
    expect(missing.headers['www-authenticate']).toBe(dpopChallenge(undefined, false))
    expect((await reader.fetch(`${required.url}/items`)).status).toBe(200)
  })

  it('a route rule requiring DPoP refuses a bearer token; the others take it', async () => {
    const refused = await send(`${perRoute.url}/items`, { headers: [bearer(plain)] })
    expect(refused.status).toBe(401)
    expect(refused.headers['www-authenticate']).toBe(dpopChallenge('invalid_token'))
    expect(seen.last()?.rejection).toBe('dpop_required')
    expect((await reader.fetch(`${perRoute.url}/items`)).status).toBe(200)
    expect((await send(`${perRoute.url}/whoami`, { headers: [bearer(plain)] })).status).toBe(200)
  })

  it('a route rule disabling DPoP refuses a DPoP-bound request', async () => {
    const proof = await handProof(reader.keyPair, reader.publicJwk, {
      htm: 'GET',
      htu: `${perRoute.url}/whoami`,
      token: reader.token,
    })
    const response = await send(`${perRoute.url}/whoami`, {
      headers: dpopHeaders(reader.token, proof),
    })
    expect(response.status).toBe(401)
    expect(response.headers['www-authenticate']).toBe(BEARER_INVALID)
    expect(seen.last()?.rejection).toBe('dpop_disabled')
  })

  it('with dpop required guard-wide, a route rule can allow bearer tokens on its route only', async () => {
    expect((await send(`${relaxed.url}/whoami`, { headers: [bearer(plain)] })).status).toBe(200)
    const refused = await send(`${relaxed.url}/items`, { headers: [bearer(plain)] })
    expect(refused.status).toBe(401)
    expect(refused.headers['www-authenticate']).toBe(dpopChallenge('invalid_token', false))
    expect((await reader.fetch(`${relaxed.url}/items`)).status).toBe(200)
  })
})

describe.each(ADAPTERS)('%s adapter: htu behind a proxy', (_name, startApi) => {
  const PUBLIC = 'https://api.example.com'
  const FORWARDED: [string, string][] = [
    ['X-Forwarded-Proto', 'https'],
    ['X-Forwarded-Host', 'api.example.com'],
  ]
  let untrusting: TestApi
  let trusting: TestApi
  let pinned: TestApi
  beforeAll(async () => {
    untrusting = await startApi(apiOptions(fixture.authz))
    trusting = await startApi(apiOptions(fixture.authz), { trustProxy: true })
    pinned = await startApi(apiOptions(fixture.authz, { dpop: { origin: PUBLIC } }))
  })
  afterAll(async () => {
    await Promise.all([untrusting?.close(), trusting?.close(), pinned?.close()])
  })

  const request = async (api: TestApi, htu: string): Promise<number> => {
    const proof = await handProof(reader.keyPair, reader.publicJwk, {
      htm: 'GET',
      htu,
      token: reader.token,
    })
    return (
      await send(`${api.url}/items`, {
        headers: [...dpopHeaders(reader.token, proof), ...FORWARDED],
      })
    ).status
  }

  it('ignores X-Forwarded-* unless the framework is told to trust the proxy', async () => {
    expect(await request(untrusting, `${PUBLIC}/items`)).toBe(401)
    expect(await request(untrusting, `${untrusting.url}/items`)).toBe(200)
  })

  it('uses X-Forwarded-Proto and -Host when the framework trusts the proxy', async () => {
    expect(await request(trusting, `${PUBLIC}/items`)).toBe(200)
    expect(await request(trusting, `${trusting.url}/items`)).toBe(401)
  })

  it('checks htu against dpop.origin when it is pinned', async () => {
    expect(await request(pinned, `${PUBLIC}/items`)).toBe(200)
    expect(await request(pinned, `${pinned.url}/items`)).toBe(401)
  })
})

describe('DPoP replay across instances behind one origin', () => {
  // Two instances (Express and Koa) behind a load balancer: one public origin, pinned with
  // dpop.origin, so a proof for one is valid for the other, and only a shared store can see
  // the replay.
  const PUBLIC = 'https://api.example.com'
  let redis: RedisServer
  let shared: TestApi[] = []
  let separate: TestApi[] = []
  const events: ScopeguardEvent[][] = [[], []]
  beforeAll(async () => {
    redis = await startRedis()
    shared = await Promise.all(
      ADAPTERS.map(([, startApi], i) =>
        startApi(
          apiOptions(fixture.authz, {
            dpop: { origin: PUBLIC },
            store: redisStore({ url: redis.url, prefix: 'dpop:' }),
            onEvent: (e) => events[i]?.push(e),
          }),
        ),
      ),
    )
    separate = await Promise.all(
      ADAPTERS.map(([, startApi]) =>
        startApi(apiOptions(fixture.authz, { dpop: { origin: PUBLIC } })),
      ),
    )
    // Both instances are connected once they report their first resync (bounded wait).
    for (let i = 0; i < 500; i++) {
      if (events.every((list) => list.some((e) => e.type === 'store' && e.state === 'resynced')))
        break
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  })
  afterAll(async () => {
    for (const api of [...shared, ...separate]) await api.close()
    await redis?.stop()
  })

  const proof = (): Promise<string> =>
    handProof(reader.keyPair, reader.publicJwk, {
      htm: 'GET',
      htu: `${PUBLIC}/items`,
      token: reader.token,
    })
  const call = (api: TestApi, dpop: string): Promise<RawResponse> =>
    send(`${api.url}/items`, { headers: dpopHeaders(reader.token, dpop) })

  it('with the Redis store, refuses on the other instance a proof one instance accepted', async () => {
    const [express, koa] = shared as [TestApi, TestApi]
    for (const [index, first, second] of [
      [1, express, koa],
      [0, koa, express],
    ] as const) {
      // A real client (openid-client) calls the public origin; the balancer sends it to `first`.
      expect((await reader.fetch(`${PUBLIC}/items`, 'GET', first.url)).status).toBe(200)
      const used = reader.sent.at(-1)?.dpop ?? ''
      const replay = await call(second, used)
      expect(replay.status).toBe(401)
      expect(replay.headers['www-authenticate']).toBe(dpopChallenge('invalid_dpop_proof'))
      const decisions = events[index]?.filter((e) => e.type === 'decision')
      expect(decisions?.at(-1)?.rejection).toBe('dpop_replay')
      expect((await call(first, used)).status).toBe(401) // and on the same instance
    }
  })

  it("control: instances with their own in-memory stores cannot see each other's proofs", async () => {
    const [express, koa] = separate as [TestApi, TestApi]
    const used = await proof()
    expect((await call(express, used)).status).toBe(200)
    expect((await call(koa, used)).status).toBe(200)
    expect((await call(koa, used)).status).toBe(401)
  })

  it('answers DPoP requests 503 while Redis is down (bearer requests keep being served)', async () => {
    const [express] = shared as [TestApi]
    await redis.kill()
    let status = 0
    for (let i = 0; i < 300 && status !== 503; i++) {
      status = (await call(express, await proof())).status
      if (status !== 503) await new Promise((resolve) => setTimeout(resolve, 10))
    }
    expect(status).toBe(503)
    expect((await send(`${express.url}/items`, { headers: [bearer(plain)] })).status).toBe(200)
    await redis.restart()
    for (let i = 0; i < 800 && status !== 200; i++) {
      status = (await call(express, await proof())).status
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 10))
    }
    expect(status).toBe(200)
  })
})
