import { describe, expect, it } from 'vitest'
import {
  compilePolicy,
  createGuard,
  diffPolicies,
  createNonceSource,
  createReplayCache,
  extractToken,
  memoryStore,
  normalizeHtu,
  readDpopHeader,
  ScopeguardConfigError,
  type ScopeguardOptions,
} from '../src/index.js'

const base = { issuer: 'https://auth.example.com', audience: 'https://api.example.com' }

function startupError(options: ScopeguardOptions): string {
  try {
    createGuard(options)
  } catch (error) {
    expect(error).toBeInstanceOf(ScopeguardConfigError)
    return (error as Error).message
  }
  throw new Error('expected a start-up error')
}

describe('dpop options are checked at start-up', () => {
  it('accepts the defaults and every mode', () => {
    for (const mode of ['disabled', 'allowed', 'required'] as const)
      expect(() => createGuard({ ...base, dpop: { mode } })).not.toThrow()
  })

  it('refuses unknown modes, symmetric and unknown algorithms', () => {
    expect(startupError({ ...base, dpop: { mode: 'on' as never } })).toMatch(/dpop.mode must be/)
    for (const alg of ['none', 'HS256', 'RS1'])
      expect(startupError({ ...base, dpop: { algorithms: [alg] } })).toMatch(
        /not an asymmetric JWS algorithm/,
      )
    expect(startupError({ ...base, dpop: { algorithms: [] } })).toMatch(/non-empty list/)
  })

  it('refuses a short nonce secret, a bad lifetime or iatWindow, and an origin with a path', () => {
    expect(startupError({ ...base, dpop: { nonce: { secret: 'short' } } })).toMatch(
      /at least 32 bytes/,
    )
    expect(startupError({ ...base, dpop: { nonce: { lifetime: 0 } } })).toMatch(
      /dpop.nonce.lifetime must be a positive number/,
    )
    expect(startupError({ ...base, dpop: { iatWindow: -1 } })).toMatch(/dpop.iatWindow/)
    expect(startupError({ ...base, dpop: { origin: 'https://api.example.com/v1' } })).toMatch(
      /dpop.origin must be the public origin/,
    )
    expect(startupError({ ...base, dpop: { origin: 'api.example.com' } })).toMatch(/dpop.origin/)
  })
})

describe('the DPoP scheme and header', () => {
  const transports = { header: true, query: false, formBody: false } as const
  it('reads Authorization: DPoP only when the dpop transport is on', () => {
    const request = { method: 'GET', headers: { authorization: 'dpop abc' } }
    expect(extractToken(request, { ...transports, dpop: true }, 100)).toEqual({
      kind: 'token',
      token: 'abc',
      scheme: 'dpop',
    })
    expect(extractToken(request, transports, 100)).toEqual({ kind: 'none' })
  })

  it('finds a second DPoP header in the raw list', () => {
    const request = (rawHeaders: string[]) => ({ method: 'GET', headers: {}, rawHeaders })
    expect(readDpopHeader(request(['DPoP', 'a']))).toBe('a')
    expect(readDpopHeader(request(['DPoP', 'a', 'dpop', 'b']))).toBe('duplicate')
    expect(readDpopHeader(request(['Host', 'x']))).toBeUndefined()
  })
})

describe('normalizeHtu (RFC 9449 §4.3)', () => {
  it('drops the query, fragment and default port, lower-cases scheme and host', () => {
    expect(normalizeHtu('HTTPS://API.Example.com:443/items?x=1#f', undefined)).toBe(
      'https://api.example.com/items',
    )
    expect(normalizeHtu('http://127.0.0.1:80/a/%7Eb', undefined)).toBe('http://127.0.0.1/a/%7Eb')
    expect(normalizeHtu('http://h:8080/a', 'https://api.example.com')).toBe(
      'https://api.example.com/a',
    )
  })
  it('refuses what is not an absolute http(s) URL', () => {
    for (const value of ['/items', 'ftp://h/x', 'not a url'])
      expect(normalizeHtu(value, undefined)).toBeUndefined()
  })
})

describe('createNonceSource', () => {
  const secret = new TextEncoder().encode('a'.repeat(32))
  it('accepts its nonce in its own bucket and the next, not later, and never a forgery', () => {
    const nonces = createNonceSource(secret, 1000)
    const issued = nonces.current(10_500).nonce
    expect(nonces.accepts(issued, 10_999)).toBe(true)
    expect(nonces.accepts(issued, 11_999)).toBe(true)
    expect(nonces.accepts(issued, 12_000)).toBe(false)
    expect(nonces.accepts(`${issued}x`, 10_500)).toBe(false)
    const other = createNonceSource(new TextEncoder().encode('b'.repeat(32)), 1000)
    expect(other.accepts(issued, 10_500)).toBe(false)
    expect(createNonceSource(secret, 1000).accepts(issued, 10_500)).toBe(true) // another instance
  })
})

describe('createReplayCache', () => {
  it('refuses a key while it lives, accepts it again after it expired', () => {
    let now = 0
    const cache = createReplayCache(10, () => now)
    expect(cache.claimOnce('a', 100)).toBe(true)
    expect(cache.claimOnce('a', 100)).toBe(false)
    now = 100
    expect(cache.claimOnce('a', 100)).toBe(true)
  })

  it('is bounded: when full of live keys it throws rather than forget one', () => {
    let now = 0
    const cache = createReplayCache(3, () => now)
    for (const key of ['a', 'b', 'c']) expect(cache.claimOnce(key, 100)).toBe(true)
    expect(() => cache.claimOnce('d', 100)).toThrow(/full/)
    expect(cache.claimOnce('a', 100)).toBe(false)
    now = 100
    expect(cache.claimOnce('d', 100)).toBe(true) // the expired ones made room
  })

  it('backs memoryStore().claimOnce', async () => {
    const store = memoryStore({ replayEntries: 1 })
    expect(await store.claimOnce?.('x', 1000)).toBe(true)
    expect(await store.claimOnce?.('x', 1000)).toBe(false)
    expect(() => store.claimOnce?.('y', 1000)).toThrow(/full/)
    await store.close()
  })
})

describe('route rules with dpop', () => {
  const policy = (dpop?: 'required' | 'allowed' | 'disabled') =>
    compilePolicy(
      {
        version: 1,
        scopes: { 'read:items': {} },
        routes: {
          'GET /items': dpop === undefined ? 'read:items' : { require: 'read:items', dpop },
        },
      },
      JSON.stringify(dpop ?? null),
    )

  it('compile, and a relaxing rule is flagged', () => {
    expect(policy('required').routes.get('GET /items')?.dpop).toBe('required')
    expect(policy('required').relaxesDpop).toBe(false)
    expect(policy('allowed').relaxesDpop).toBe(true)
    expect(policy().routes.get('GET /items')?.dpop).toBeUndefined()
  })

  it('no longer requiring DPoP is a widening change; requiring it, a narrowing one', () => {
    const changes = (before?: 'required' | 'allowed', after?: 'required' | 'allowed') =>
      diffPolicies(policy(before), policy(after)).map((c) => `${c.kind} ${c.description}`)
    expect(changes('required', 'allowed')).toEqual(['widening dpop required → allowed'])
    expect(changes('required', undefined)).toEqual(['widening dpop required → (guard)'])
    expect(changes(undefined, 'required')).toEqual(['narrowing dpop (guard) → required'])
    expect(changes(undefined, 'allowed')).toEqual(['neutral dpop (guard) → allowed'])
  })
})
