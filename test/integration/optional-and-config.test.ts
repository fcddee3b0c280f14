import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ScopeguardOptions } from '@scopeguard/core'
import {
  ScopeguardConfigError as ExpressConfigError,
  scopeguard as expressGuard,
  requireScopes as expressRequire,
} from '@scopeguard/express'
import {
  ScopeguardConfigError as KoaConfigError,
  scopeguard as koaGuard,
  requireScopes as koaRequire,
} from '@scopeguard/koa'
import { ADAPTERS, type TestApi } from '../support/apps.js'
import { bearer, send } from '../support/http.js'

const issuer = 'https://auth.example.com'
const audience = 'https://items-api.scopeguard.test'
let options: ScopeguardOptions
let readerToken: string

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true })
  options = {
    issuer,
    audience,
    keys: { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'static-1' }] },
    optional: true,
  }
  const now = Math.floor(Date.now() / 1000)
  readerToken = await new SignJWT({
    iss: issuer,
    aud: audience,
    exp: now + 300,
    iat: now,
    client_id: 'reader',
    scope: 'read:items',
  })
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'static-1' })
    .sign(pair.privateKey)
})

describe.each(ADAPTERS)('%s adapter with optional: true and static keys', (_name, startApi) => {
  let api: TestApi
  beforeAll(async () => {
    api = await startApi(options)
  })
  afterAll(() => api?.close())

  it('lets an anonymous request reach a route without requireScopes', async () => {
    const response = await send(`${api.url}/whoami`)
    expect(response.status).toBe(200)
    expect(JSON.parse(response.body)).toEqual({ anonymous: true })
  })

  it('still refuses a presented bad token', async () => {
    const response = await send(`${api.url}/whoami`, { headers: [bearer('abc.def.ghi')] })
    expect(response.status).toBe(401)
    expect(response.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"')
  })

  it('answers 401 without an error code when a guarded route is called anonymously', async () => {
    const response = await send(`${api.url}/items`)
    expect(response.status).toBe(401)
    expect(response.headers['www-authenticate']).toBe('Bearer realm="api"')
  })

  it('serves a valid token as usual', async () => {
    expect((await send(`${api.url}/items`, { headers: [bearer(readerToken)] })).status).toBe(200)
    expect(
      (await send(`${api.url}/items`, { method: 'POST', headers: [bearer(readerToken)] })).status,
    ).toBe(403)
  })
})

describe('start-up mistakes throw at once, from both adapters', () => {
  it('rejects bad options and bad requirements synchronously', () => {
    expect(() => expressGuard({ issuer: 'http://auth.example.com', audience })).toThrow(
      ExpressConfigError,
    )
    expect(() => koaGuard({ issuer: 'http://auth.example.com', audience })).toThrow(KoaConfigError)
    expect(() => expressRequire('read:items or')).toThrow(/position 14/)
    expect(() => koaRequire('(read:items')).toThrow(/expected "\)"/)
  })
})
