import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ScopeguardEvent, ScopeguardOptions } from '@scopeguard/core'
import { redisStore, runDrill } from '@scopeguard/redis'
import { startExpressApi, startKoaApi, type TestApi } from '../support/apps.js'
import { bearer, send } from '../support/http.js'
import {
  AUDIENCE,
  createStaticSigner,
  ISSUER,
  ITEMS_POLICY,
  type StaticSigner,
} from '../support/static-signer.js'
import { startRedis, type RedisServer } from '../support/redis-server.js'

const issuer = ISSUER
const audience = AUDIENCE
const policy = ITEMS_POLICY
let keys: ScopeguardOptions['keys']
let sign: StaticSigner['sign']
let redis: RedisServer

beforeAll(async () => {
  redis = await startRedis()
  ;({ keys, sign } = await createStaticSigner())
})
afterAll(() => redis?.stop())

/** Polls until `url` answers `status` with `token`; returns the milliseconds it took. */
async function until(
  url: string,
  token: string,
  status: number,
  options: { method?: string; limit?: number } = {},
): Promise<number> {
  const started = performance.now()
  let last = 0
  while (performance.now() - started < (options.limit ?? 5000)) {
    last = (await send(url, { method: options.method ?? 'GET', headers: [bearer(token)] })).status
    if (last === status) return performance.now() - started
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`${url} still answers ${last}, expected ${status}`)
}

async function pair(
  prefix: string,
  extra: Partial<ScopeguardOptions> = {},
): Promise<{ apis: TestApi[]; events: ScopeguardEvent[][] }> {
  const events: ScopeguardEvent[][] = [[], []]
  const apis = [
    await startExpressApi({
      issuer,
      audience,
      keys,
      policy,
      store: redisStore({ url: redis.url, prefix }),
      onEvent: (e) => events[0]?.push(e),
      ...extra,
    }),
    await startKoaApi({
      issuer,
      audience,
      keys,
      policy,
      store: redisStore({ url: redis.url, prefix }),
      onEvent: (e) => events[1]?.push(e),
      ...extra,
    }),
  ]
  // Both instances have connected and synced once they report it.
  const deadline = Date.now() + 5000
  while (
    !events.every((list) => list.some((e) => e.type === 'store' && e.state === 'resynced')) &&
    Date.now() < deadline
  ) {
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return { apis, events }
}

describe('@scopeguard/redis: state shared by two instances (Express and Koa) through a real redis-server', () => {
  it('enforces a revocation made on one instance, and one made with the CLI, on both within a second', async () => {
    const { apis } = await pair('t1:')
    const token = await sign({ client_id: 'reader', jti: 'tok-1' })
    const other = await sign({ client_id: 'writer', sub: 'bob' })
    try {
      for (const api of apis)
        expect((await send(`${api.url}/items`, { headers: [bearer(token)] })).status).toBe(200)

      await apis[0]?.revoke({ clientId: 'reader', reason: 'compromised integration' })
      const viaInstance = await Promise.all(
        apis.map((api) => until(`${api.url}/items`, token, 401)),
      )
      // The real binary, as an SRE would run it; timed from the moment it has written to Redis.
      const cli = fileURLToPath(new URL('../../packages/cli/dist/cli.js', import.meta.url))
      const args = [
        'revoke',
        '--redis',
        redis.url,
        '--prefix',
        't1:',
        '--subject',
        'bob',
        '--reason',
        'left the company',
      ]
      await promisify(execFile)(process.execPath, [cli, ...args])
      const viaCli = await Promise.all(apis.map((api) => until(`${api.url}/items`, other, 401)))
      console.log(
        `revocation propagation: via an instance ${viaInstance.map((ms) => `${ms.toFixed(0)} ms`).join(', ')}; via the CLI ${viaCli.map((ms) => `${ms.toFixed(0)} ms`).join(', ')}`,
      )
      for (const ms of [...viaInstance, ...viaCli]) expect(ms).toBeLessThan(1000)
    } finally {
      for (const api of apis) await api.close()
    }
  })

  it('an elevation with a 2-second TTL allows a call on both instances, and both deny it after expiry', async () => {
    const { apis, events } = await pair('t2:')
    try {
      const token = await sign({ client_id: 'reader' })
      for (const api of apis)
        expect(
          (await send(`${api.url}/items`, { method: 'POST', headers: [bearer(token)] })).status,
        ).toBe(403)
      await apis[1]?.elevate({
        clientId: 'reader',
        scopes: ['write:items'],
        ttl: 2,
        reason: 'data fix INC-9',
        approvedBy: 'sre-lead',
      })
      for (const api of apis)
        await until(`${api.url}/items`, token, 201, { method: 'POST', limit: 1000 })
      for (const api of apis)
        await until(`${api.url}/items`, token, 403, { method: 'POST', limit: 3000 })
      expect(
        events[0]?.filter((e) => e.type === 'lifecycle').map((e) => [e.action, e.origin]),
      ).toEqual([
        ['elevated', 'remote'],
        ['elevation_expired', 'local'],
      ])
    } finally {
      for (const api of apis) await api.close()
    }
  })

  it('keeps serving the last known state while Redis is down (or refuses, when failing closed), and resyncs after a restart', async () => {
    const { apis, events } = await pair('t3:')
    const closed = await startExpressApi({
      issuer,
      audience,
      keys,
      policy,
      store: redisStore({ url: redis.url, prefix: 't3:', failClosed: true }),
    })
    try {
      const revoked = await sign({ client_id: 'mallory' })
      const token = await sign({ client_id: 'reader' })
      await apis[0]?.revoke({ clientId: 'mallory', reason: 'abuse' })
      for (const api of apis) await until(`${api.url}/items`, revoked, 401)
      await until(`${closed.url}/items`, token, 200)

      await redis.kill()
      const statuses: number[] = []
      for (let i = 0; i < 50; i++) {
        for (const api of apis)
          statuses.push((await send(`${api.url}/items`, { headers: [bearer(token)] })).status)
        for (const api of apis)
          expect((await send(`${api.url}/items`, { headers: [bearer(revoked)] })).status).toBe(401)
      }
      expect(new Set(statuses)).toEqual(new Set([200]))
      await until(`${closed.url}/items`, token, 503, { limit: 3000 })
      for (const list of events)
        expect(list.some((e) => e.type === 'store' && e.state === 'unavailable')).toBe(true)

      await redis.restart() // empty: what was revoked before is gone with the data
      for (const api of [...apis, closed])
        await until(`${api.url}/items`, revoked, 200, { limit: 8000 })
      for (const list of events)
        expect(list.some((e) => e.type === 'store' && e.state === 'available')).toBe(true)
      await apis[1]?.revoke({ clientId: 'reader', reason: 'after the restart' })
      for (const api of [...apis, closed])
        await until(`${api.url}/items`, token, 401, { limit: 1000 })
    } finally {
      await closed.close()
      for (const api of apis) await api.close()
    }
  })

  it('a breach drill finds both live instances and measures how long each took to enforce the canary revocation', async () => {
    const { apis } = await pair('t4:')
    try {
      const canary = await sign({ client_id: 'canary' })
      const report = await runDrill({
        url: redis.url,
        prefix: 't4:',
        clientId: 'canary',
        discover: 1500,
      })
      console.log(
        `drill: ${report.instances.map((i) => `${i.name} ${i.enforcedAfter?.toFixed(0) ?? 'never'} ms`).join(', ')}`,
      )
      expect(report.instances).toHaveLength(2)
      for (const instance of report.instances) expect(instance.enforcedAfter).toBeLessThan(1000)
      expect(report.restored).toBe(true)
      for (const api of apis) await until(`${api.url}/items`, canary, 200, { limit: 1000 })
    } finally {
      for (const api of apis) await api.close()
    }
  })

  it('shares when each client was last seen, so a client busy on one instance is not dormant on another', async () => {
    const store = (): ReturnType<typeof redisStore> =>
      redisStore({ url: redis.url, prefix: 't5:', seenFlushInterval: 50 })
    const events: ScopeguardEvent[] = []
    const busy = await startExpressApi({ issuer, audience, keys, policy, store: store() })
    const idle = await startKoaApi({
      issuer,
      audience,
      keys,
      policy,
      store: store(),
      dormantAfter: 0.4,
      onEvent: (e) => events.push(e),
    })
    try {
      const token = await sign({ client_id: 'busy-client' })
      const quiet = await sign({ client_id: 'quiet-client' })
      await send(`${idle.url}/items`, { headers: [bearer(quiet)] }) // seen once, then never again
      const until = Date.now() + 1500
      while (Date.now() < until) {
        expect((await send(`${busy.url}/items`, { headers: [bearer(token)] })).status).toBe(200) // only the other instance sees it
        await new Promise((resolve) => setTimeout(resolve, 40))
      }
      const dormant = events
        .filter((e) => e.type === 'lifecycle' && e.action === 'dormant')
        .map((e) => (e.type === 'lifecycle' ? e.target : ''))
      expect(dormant).toEqual(['clientId:quiet-client'])
    } finally {
      await busy.close()
      await idle.close()
    }
  })

  it('sums usage over both instances: a scope used on one instance is not reported unused by the other', async () => {
    const store = (): ReturnType<typeof redisStore> =>
      redisStore({ url: redis.url, prefix: 't6:', seenFlushInterval: 50 })
    const a = await startExpressApi({ issuer, audience, keys, policy, store: store() })
    const b = await startKoaApi({ issuer, audience, keys, policy, store: store() })
    try {
      const mixed = await sign({ client_id: 'mixed', scope: 'read:items write:items' })
      const partial = await sign({ client_id: 'partial', scope: 'read:items write:items' })
      expect((await send(`${a.url}/items`, { headers: [bearer(mixed)] })).status).toBe(200) // uses read:items
      expect(
        (await send(`${b.url}/items`, { method: 'POST', headers: [bearer(mixed)] })).status,
      ).toBe(201) // uses write:items
      expect((await send(`${a.url}/items`, { headers: [bearer(partial)] })).status).toBe(200)
      expect(a.inventory()?.clients.find((c) => c.clientId === 'mixed')?.unused).toEqual([
        'write:items',
      ]) // local view
      await a.sharedInventory() // each instance adds its counts at every flush (seenFlushInterval); this one now
      const shared = await b.sharedInventory()
      const unused = Object.fromEntries((shared?.clients ?? []).map((c) => [c.clientId, c.unused]))
      expect(unused).toEqual({ mixed: [], partial: ['write:items'] })
      expect(shared?.clients.find((c) => c.clientId === 'mixed')?.routes).toEqual({
        'GET /items': 1,
        'POST /items': 1,
      })
    } finally {
      await a.close()
      await b.close()
    }
  })
})
