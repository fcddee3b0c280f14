import { beforeAll, describe, expect, it } from 'vitest'
import {
  LifecycleError,
  type PolicyDocument,
  type ScopeguardEvent,
  type ScopeguardOptions,
} from '@scopeguard/core'
import { ADAPTERS } from '../support/apps.js'
import { bearer, send } from '../support/http.js'
import {
  AUDIENCE,
  createStaticSigner,
  ISSUER,
  ITEMS_POLICY,
  type StaticSigner,
} from '../support/static-signer.js'

const issuer = ISSUER
const audience = AUDIENCE
const policy = ITEMS_POLICY
let keys: ScopeguardOptions['keys']
let sign: StaticSigner['sign']

beforeAll(async () => {
  ;({ keys, sign } = await createStaticSigner())
})

describe.each(ADAPTERS)(
  '%s adapter: revocation, kill switch and elevation (in-memory store)',
  (_name, startApi) => {
    it('revokes by token id, client and subject at once, and lifts revocations', async () => {
      const events: ScopeguardEvent[] = []
      const api = await startApi({ issuer, audience, keys, onEvent: (e) => events.push(e) })
      try {
        const token = await sign({ jti: 't-1', client_id: 'reader', sub: 'alice' })
        const other = await sign({ jti: 't-2', client_id: 'writer', sub: 'bob' })
        const status = async (t: string): Promise<number> =>
          (await send(`${api.url}/items`, { headers: [bearer(t)] })).status
        expect(await status(token)).toBe(200) // now cached: revocation must still apply

        for (const target of [{ jti: 't-1' }, { clientId: 'reader' }, { subject: 'alice' }]) {
          await api.revoke({ ...target, reason: 'incident 42' })
          const refused = await send(`${api.url}/items`, { headers: [bearer(token)] })
          expect(refused.status).toBe(401)
          expect(refused.headers['www-authenticate']).toBe(
            'Bearer realm="api", error="invalid_token"',
          )
          expect(await status(other)).toBe(200)
          await api.unrevoke(target)
          expect(await status(token)).toBe(200)
        }
        const lifecycle = events
          .filter((e) => e.type === 'lifecycle')
          .map((e) => [e.action, e.target])
        expect(lifecycle).toEqual([
          ['revoked', 'jti:t-1'],
          ['unrevoked', 'jti:t-1'],
          ['revoked', 'clientId:reader'],
          ['unrevoked', 'clientId:reader'],
          ['revoked', 'subject:alice'],
          ['unrevoked', 'subject:alice'],
        ])
        expect(events.some((e) => e.type === 'decision' && e.rejection === 'revoked')).toBe(true)
        await expect(api.revoke({ reason: 'x' })).rejects.toThrow(LifecycleError)
        await expect(api.revoke({ jti: 'a', clientId: 'b', reason: 'x' })).rejects.toThrow(
          /exactly one/,
        )
        await expect(api.revoke({ jti: 'a', reason: '' })).rejects.toThrow(/reason is required/)
      } finally {
        await api.close()
      }
    })

    it('the kill switch refuses every token but those of the excepted clients', async () => {
      const api = await startApi({ issuer, audience, keys })
      try {
        const reader = await sign({ client_id: 'reader' })
        const breakGlass = await sign({ client_id: 'break-glass' })
        await api.killSwitch(true, { except: ['break-glass'], reason: 'token leak' })
        expect((await send(`${api.url}/items`, { headers: [bearer(reader)] })).status).toBe(401)
        expect((await send(`${api.url}/items`, { headers: [bearer(breakGlass)] })).status).toBe(200)
        await api.killSwitch(false)
        expect((await send(`${api.url}/items`, { headers: [bearer(reader)] })).status).toBe(200)
      } finally {
        await api.close()
      }
    })

    it('an elevation allows a call until it expires, then the call is denied again', async () => {
      const events: ScopeguardEvent[] = []
      const api = await startApi({ issuer, audience, keys, policy, onEvent: (e) => events.push(e) })
      try {
        const token = await sign({ client_id: 'reader' })
        const post = async (): Promise<number> =>
          (await send(`${api.url}/items`, { method: 'POST', headers: [bearer(token)] })).status
        expect(await post()).toBe(403)
        const grant = await api.elevate({
          clientId: 'reader',
          scopes: ['write:items'],
          ttl: 1,
          reason: 'migration INC-7',
          approvedBy: 'sre-lead',
        })
        expect(api.elevations().map((g) => g.id)).toEqual([grant.id])
        expect(await post()).toBe(201)
        const elevatedDecision = events
          .filter((e) => e.type === 'decision' && e.allowed && e.method === 'POST')
          .at(-1)
        expect(elevatedDecision).toMatchObject({ elevated: ['write:items'] })
        await new Promise((resolve) => setTimeout(resolve, 1100))
        expect(await post()).toBe(403)
        expect(api.elevations()).toEqual([])
        expect(events.filter((e) => e.type === 'lifecycle').map((e) => e.action)).toEqual([
          'elevated',
          'elevation_expired',
        ])
      } finally {
        await api.close()
      }
    })

    it('refuses elevations without a TTL, beyond the maximum, or for scopes that are not elevatable', async () => {
      const api = await startApi({ issuer, audience, keys, policy, maxElevationTtl: 3600 })
      try {
        const base = { clientId: 'reader', reason: 'r', approvedBy: 'a' }
        await expect(api.elevate({ ...base, scopes: ['write:items'] } as never)).rejects.toThrow(
          /ttl is required/,
        )
        await expect(api.elevate({ ...base, scopes: ['write:items'], ttl: 7200 })).rejects.toThrow(
          /longer than maxElevationTtl/,
        )
        await expect(api.elevate({ ...base, scopes: ['admin'], ttl: 60 })).rejects.toThrow(
          /not elevatable in the policy: admin/,
        )
        await expect(
          api.elevate({ ...base, scopes: ['write:items'], ttl: 60, approvedBy: '' }),
        ).rejects.toThrow(/approvedBy is required/)
      } finally {
        await api.close()
      }
    })

    it('refuses tokens whose lifetime is longer than maxTokenLifetime', async () => {
      const api = await startApi({ issuer, audience, keys, maxTokenLifetime: 300 })
      try {
        const now = Math.floor(Date.now() / 1000)
        expect(
          (
            await send(`${api.url}/items`, {
              headers: [bearer(await sign({ iat: now, exp: now + 300 }))],
            })
          ).status,
        ).toBe(200)
        expect(
          (
            await send(`${api.url}/items`, {
              headers: [bearer(await sign({ iat: now, exp: now + 301 }))],
            })
          ).status,
        ).toBe(401)
      } finally {
        await api.close()
      }
    })

    it('reports clients nobody has seen for dormantAfter, and revokes them when asked', async () => {
      const events: ScopeguardEvent[] = []
      const dormantPolicy: PolicyDocument = {
        ...policy,
        clients: { reader: { allow: ['read:items'] }, 'old-batch': { allow: ['read:items'] } },
      }
      const api = await startApi({
        issuer,
        audience,
        keys,
        policy: dormantPolicy,
        dormantAfter: 0.3,
        revokeDormant: true,
        onEvent: (e) => events.push(e),
      })
      try {
        const reader = await sign({ client_id: 'reader' })
        const oldBatch = await sign({ client_id: 'old-batch' })
        const deadline = Date.now() + 2000
        while (
          !events.some((e) => e.type === 'lifecycle' && e.action === 'dormant') &&
          Date.now() < deadline
        ) {
          expect((await send(`${api.url}/items`, { headers: [bearer(reader)] })).status).toBe(200) // reader stays active
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
        const dormant = events.filter((e) => e.type === 'lifecycle' && e.action === 'dormant')
        expect(dormant.map((e) => (e.type === 'lifecycle' ? e.target : undefined))).toEqual([
          'clientId:old-batch',
        ])
        expect(api.inventory()?.dormant).toEqual(['old-batch'])
        expect((await send(`${api.url}/items`, { headers: [bearer(oldBatch)] })).status).toBe(401) // revoked
        expect((await send(`${api.url}/items`, { headers: [bearer(reader)] })).status).toBe(200)
      } finally {
        await api.close()
      }
    })
  },
)
