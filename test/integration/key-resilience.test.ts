import { afterEach, describe, expect, it } from 'vitest'
import {
  DEMO_CLIENTS,
  ITEMS_API,
  generateSigningKeys,
  startAuthzServer,
  type AuthzServer,
} from '@scopeguard-examples/authz-server'
import { ADAPTERS, type TestApi } from '../support/apps.js'
import { bearer, send } from '../support/http.js'

type Keys = Awaited<ReturnType<typeof generateSigningKeys>>

describe.each(ADAPTERS)('%s adapter: key source resilience', (_name, startApi) => {
  const running: (AuthzServer | TestApi)[] = []
  afterEach(async () => {
    await Promise.all(
      running.splice(0).map((server) => ('stop' in server ? server.stop() : server.close())),
    )
  })

  const authzOn = async (keys: Keys, port?: number): Promise<AuthzServer> => {
    const server = await startAuthzServer({ keys, ...(port === undefined ? {} : { port }) })
    running.push(server)
    return server
  }

  it('keeps verifying with known keys while the authorization server is down, and answers 503 for an unknown key', async () => {
    const oldKeys = await generateSigningKeys()
    const first = await authzOn(oldKeys)
    const { port, issuer } = first
    // cooldown 0: an unknown kid may refetch at once, so the outage (not the cooldown) decides.
    const api = await startApi({ issuer, audience: ITEMS_API, jwks: { cooldown: 0 } })
    running.push(api)
    const [warmUp, unusedKnownKey] = await Promise.all([
      first.token(DEMO_CLIENTS.reader),
      first.token(DEMO_CLIENTS.writer),
    ])
    expect((await send(`${api.url}/items`, { headers: [bearer(warmUp)] })).status).toBe(200)

    // Rotation: the server comes back with a new signing key, issues a token, and goes away.
    await first.stop()
    const newKeys = await generateSigningKeys()
    const rotated = await authzOn({ keys: [...newKeys.keys, ...oldKeys.keys] }, port)
    const newKeyToken = await rotated.token(DEMO_CLIENTS.reader)
    await rotated.stop()

    // Down: a token under a known key is verified (no cache entry for it yet) …
    const known = await send(`${api.url}/items`, { headers: [bearer(unusedKnownKey)] })
    expect(known.status).toBe(200)
    // … and a token that needs the unknown key cannot be checked: 503, not 401 and not 500.
    const unknown = await send(`${api.url}/items`, { headers: [bearer(newKeyToken)] })
    expect(unknown.status).toBe(503)
    expect(unknown.headers['retry-after']).toBe('5')
    expect(unknown.headers['www-authenticate']).toBeUndefined()
    expect(api.stats().keyFetches).toBe(2)

    // Back up: the same token is accepted once the key set can be fetched again.
    await authzOn({ keys: [...newKeys.keys, ...oldKeys.keys] }, port)
    let status = 0
    for (let attempt = 0; attempt < 30 && status !== 200; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 200))
      status = (await send(`${api.url}/items`, { headers: [bearer(newKeyToken)] })).status
    }
    expect(status).toBe(200)
  })

  it('answers 503 when no key was ever fetched and the authorization server is unreachable', async () => {
    const keys = await generateSigningKeys()
    const server = await authzOn(keys)
    const token = await server.token(DEMO_CLIENTS.reader)
    await server.stop()
    const api = await startApi({ issuer: server.issuer, audience: ITEMS_API })
    running.push(api)
    const response = await send(`${api.url}/items`, { headers: [bearer(token)] })
    expect(response.status).toBe(503)
    // A client's bad token is still a 401 even then: it is refused before any key is needed.
    const bad = await send(`${api.url}/items`, { headers: [['Authorization', 'Bearer a b']] })
    expect(bad.status).toBe(401)
  })

  it('verifies a 2,000-request burst with one token once, after one key fetch', async () => {
    const server = await authzOn(await generateSigningKeys())
    const api = await startApi({ issuer: server.issuer, audience: ITEMS_API })
    running.push(api)
    const token = await server.token(DEMO_CLIENTS.reader)
    const before = { ...server.stats }
    const statuses: number[] = []
    const total = 2000
    const concurrency = 50
    let next = 0
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < total) {
          next++
          statuses.push((await send(`${api.url}/items`, { headers: [bearer(token)] })).status)
        }
      }),
    )
    expect(statuses).toHaveLength(total)
    expect(new Set(statuses)).toEqual(new Set([200]))
    expect(server.stats.jwksRequests - before.jwksRequests).toBe(1)
    expect(api.stats()).toMatchObject({ jwtVerifications: 1, keyFetches: 1, cacheHits: total - 1 })
  })
})
