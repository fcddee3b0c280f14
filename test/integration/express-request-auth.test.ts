import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express, { type Request } from 'express'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ScopeguardOptions } from '@scopeguard/core'
import { requireScopes, scopeguard } from '@scopeguard/express'
import { bearer, send } from '../support/http.js'

/**
 * `req.auth` in Express: the guard keeps its state off the request (adding properties to a
 * request object is costly) and `req.auth` reads it through an accessor on Express's request
 * prototype. To the app it must behave as the plain property it was: the verified caller in
 * every handler after the guard, replaced by the guard, replaceable by the app.
 */
const issuer = 'https://auth.example.com'
const audience = 'https://items-api.scopeguard.test'
let options: ScopeguardOptions
let token: (scope: string, client?: string) => Promise<string>

beforeAll(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true })
  options = {
    issuer,
    audience,
    keys: { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256' }] },
    optional: true,
  }
  const now = Math.floor(Date.now() / 1000)
  token = (scope, client = 'reader') =>
    new SignJWT({ client_id: client, sub: `user-of-${client}`, scope })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' })
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(pair.privateKey)
})

/** What a handler saw of `req.auth`. */
const seen = (req: Request) => ({
  client: req.auth?.clientId ?? null,
  own: Object.hasOwn(req, 'auth'),
  inKeys: Object.keys(req).includes('auth'),
})

describe('Express: req.auth', () => {
  let server: Server
  let url: string
  let guard: ReturnType<typeof scopeguard>
  beforeAll(async () => {
    guard = scopeguard(options)
    const app = express()
    // An app that sets its own req.auth before the guard: the guard replaces it.
    app.use((req, _res, next) => {
      if (req.headers['x-preset'] !== undefined) req.auth = { preset: true } as never
      next()
    })
    app.use(guard)
    app.get('/whoami', (req, res) => void res.json(seen(req)))
    // Middleware after the guard that replaces req.auth: handlers and requireScopes see it.
    app.get(
      '/replaced',
      (req, _res, next) => {
        if (req.auth !== undefined) req.auth = { ...req.auth, clientId: 'replaced' }
        next()
      },
      requireScopes('read:items'),
      (req, res) => void res.json(seen(req)),
    )
    // A sub-app: the same request, another app's request prototype.
    const sub = express()
    sub.get('/whoami', (req, res) => void res.json(seen(req)))
    app.use('/sub', sub)
    // A request the guard never saw (another app on the same Express): a plain property.
    server = createServer(app)
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    server?.closeAllConnections()
    await new Promise<void>((resolve) => server?.close(() => resolve()))
    await guard?.close()
  })

  const get = async (path: string, headers: [string, string][] = []) => {
    const reply = await send(`${url}${path}`, { headers })
    return { status: reply.status, body: JSON.parse(reply.body || 'null') as unknown }
  }

  it('is the verified caller in the handlers after the guard', async () => {
    expect(await get('/whoami', [bearer(await token('read:items'))])).toEqual({
      status: 200,
      body: { client: 'reader', own: false, inKeys: false },
    })
  })

  it('is undefined for an anonymous request, and each request sees its own caller', async () => {
    expect(await get('/whoami')).toEqual({
      status: 200,
      body: { client: null, own: false, inKeys: false },
    })
    const [a, b] = await Promise.all([
      get('/whoami', [bearer(await token('read:items', 'client-a'))]),
      get('/whoami', [bearer(await token('read:items', 'client-b'))]),
    ])
    expect([a.body, b.body]).toEqual([
      { client: 'client-a', own: false, inKeys: false },
      { client: 'client-b', own: false, inKeys: false },
    ])
  })

  it('replaces an auth the app set before the guard', async () => {
    expect(await get('/whoami', [bearer(await token('read:items')), ['X-Preset', '1']])).toEqual({
      status: 200,
      body: { client: 'reader', own: true, inKeys: true },
    })
  })

  it('can be replaced by the app after the guard, as a plain property', async () => {
    expect(await get('/replaced', [bearer(await token('read:items'))])).toEqual({
      status: 200,
      body: { client: 'replaced', own: true, inKeys: true },
    })
    // requireScopes judges what req.auth holds: the replacement kept the scopes.
    expect((await get('/replaced', [bearer(await token('write:items'))])).status).toBe(403)
    expect((await get('/replaced')).status).toBe(401)
  })

  it('is the verified caller inside a mounted sub-app', async () => {
    expect(await get('/sub/whoami', [bearer(await token('read:items'))])).toEqual({
      status: 200,
      body: { client: 'reader', own: false, inKeys: false },
    })
  })

  it('stays a plain property on requests of an app without the guard', async () => {
    const other = express()
    other.get('/', (req, res) => {
      const before = req.auth
      req.auth = { clientId: 'set-by-app' } as never
      res.json({ before: before ?? null, ...seen(req) })
    })
    const plain = createServer(other)
    plain.listen(0, '127.0.0.1')
    await once(plain, 'listening')
    try {
      const reply = await send(`http://127.0.0.1:${(plain.address() as AddressInfo).port}/`)
      expect(JSON.parse(reply.body)).toEqual({
        before: null,
        client: 'set-by-app',
        own: true,
        inKeys: true,
      })
    } finally {
      plain.closeAllConnections()
      await new Promise<void>((resolve) => plain.close(() => resolve()))
    }
  })
})
