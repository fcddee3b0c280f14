/**
 * Apps and tools of the policy suites (test/integration/policy-cases.test.ts and
 * route-differential.test.ts): tokens signed with a static RS256 key, a sender that puts any
 * request target on the wire, and apps that tie every decision record to the request that
 * caused it (the request id travels in an AsyncLocalStorage, so records are matched even
 * with many requests in flight).
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { once } from 'node:events'
import { Agent, createServer, request as httpRequest, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express, { type RequestHandler } from 'express'
import Koa, { type Middleware } from 'koa'
import Router from '@koa/router'
import compose from 'koa-compose'
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose'
import type { DecisionEvent, ScopeguardOptions } from '@scopeguard/core'
import * as sgExpress from '@scopeguard/express'
import * as sgKoa from '@scopeguard/koa'

export const ISSUER = 'https://auth.scopeguard.test'
export const AUDIENCE = 'https://items-api.scopeguard.test'
export const REALM = 'items-api'

/** What a test token carries. */
export interface TokenSpec {
  readonly client?: string
  readonly scopes: readonly string[]
  readonly claims?: Readonly<Record<string, unknown>>
}

/** A static RS256 key: its public JWK set for `keys`, and a signer of access tokens. */
export interface StaticSigner {
  readonly keys: { keys: JWK[] }
  sign(spec: TokenSpec): Promise<string>
}

export async function createStaticSigner(): Promise<StaticSigner> {
  const pair = await generateKeyPair('RS256', { extractable: true })
  const kid = 'policy-suite'
  return {
    keys: { keys: [{ ...(await exportJWK(pair.publicKey)), kid, alg: 'RS256', use: 'sig' }] },
    sign: (spec) => {
      const now = Math.floor(Date.now() / 1000)
      return new SignJWT({
        ...spec.claims,
        iss: ISSUER,
        aud: AUDIENCE,
        iat: now,
        exp: now + 600,
        sub: 'user-1',
        ...(spec.client === undefined ? {} : { client_id: spec.client }),
        scope: spec.scopes.join(' '),
      })
        .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid })
        .sign(pair.privateKey)
    },
  }
}

/** Guard options with the static key and the suite's issuer, audience and realm. */
export function guardOptions(
  signer: StaticSigner,
  policy: ScopeguardOptions['policy'],
): ScopeguardOptions {
  return { issuer: ISSUER, audience: AUDIENCE, realm: REALM, keys: signer.keys, policy }
}

/** A running app whose decision records are kept per request id. */
export interface PolicyApi {
  readonly adapter: 'express' | 'koa'
  readonly url: string
  readonly port: number
  /** The decision records of the request sent with `X-Request-Id: id`, in emission order. */
  decisions(id: string): readonly DecisionEvent[]
  close(): Promise<void>
}

export type StartPolicyApi = (options: ScopeguardOptions) => Promise<PolicyApi>

/** Keeps decision records by the request id found in the async context of the request. */
function createRecorder(options: ScopeguardOptions) {
  const context = new AsyncLocalStorage<string>()
  const byRequest = new Map<string, DecisionEvent[]>()
  const guardOptions: ScopeguardOptions = {
    ...options,
    onEvent: (event) => {
      options.onEvent?.(event)
      if (event.type !== 'decision') return
      const id = context.getStore() ?? '<none>'
      const list = byRequest.get(id) ?? []
      list.push(event)
      byRequest.set(id, list)
    },
  }
  return {
    guardOptions,
    decisions: (id: string): readonly DecisionEvent[] => byRequest.get(id) ?? [],
    run: <T>(id: string, fn: () => T): T => context.run(id, fn),
  }
}

function requestIdOf(value: string | string[] | undefined): string {
  return typeof value === 'string' ? value : '<none>'
}

async function listen(server: Server): Promise<number> {
  server.keepAliveTimeout = 30_000
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return (server.address() as AddressInfo).port
}

async function stop(server: Server): Promise<void> {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
}

async function serve(
  adapter: 'express' | 'koa',
  listener: Parameters<typeof createServer>[1],
  decisions: PolicyApi['decisions'],
): Promise<PolicyApi> {
  const server = createServer(listener)
  const port = await listen(server)
  return {
    adapter,
    url: `http://127.0.0.1:${port}`,
    port,
    decisions,
    close: () => stop(server),
  }
}

// ---------------------------------------------------------------------------------------------
// The items API of the policy case table. Every handler answers 200 with `X-Handler: METHOD
// /full/template`, so a case can see which handler ran. Templates (mount prefixes included):
//   GET /health                          ALL /api/v1/everything
//   GET|POST /api/v1/items               GET /api/v1/reports
//   GET|DELETE /api/v1/items/:id         GET /api/v1/stats
//   POST /api/v1/items/:id/archive       GET /api/v1/unmapped
//     (also requireScopes('archive:items'))
//   GET|POST /api/v1/tenants/:tenantId/items   (a router mounted at /tenants/:tenantId)
// ---------------------------------------------------------------------------------------------

/** The templates of the items API, as `METHOD /template` (what X-Handler names). */
export const ITEMS_API_ROUTES = [
  'GET /health',
  'GET /api/v1/items',
  'POST /api/v1/items',
  'GET /api/v1/items/:id',
  'DELETE /api/v1/items/:id',
  'POST /api/v1/items/:id/archive',
  'GET /api/v1/tenants/:tenantId/items',
  'POST /api/v1/tenants/:tenantId/items',
  'GET /api/v1/reports',
  'ALL /api/v1/everything',
  'GET /api/v1/stats',
  'GET /api/v1/unmapped',
] as const

export interface ItemsApiOptions {
  /**
   * Express only: whether the tenant router merges its mount's params (`mergeParams`).
   * Default true, as an app whose handlers read `req.params.tenantId` must set it.
   */
  readonly mergeParams?: boolean
}

/** The items API on Express 5: `app.use('/api', api)`, `api.use('/v1', v1)`, `v1.use('/tenants/:tenantId', tenants)`. */
export async function startExpressItemsApi(
  options: ScopeguardOptions,
  { mergeParams = true }: ItemsApiOptions = {},
): Promise<PolicyApi> {
  const { scopeguard, requireScopes } = sgExpress
  const recorder = createRecorder(options)
  const handler =
    (name: string): RequestHandler =>
    (_req, res) =>
      void res.set('X-Handler', name).json({ handler: name })
  const app = express()
  app.use((req, res, next) => {
    const id = requestIdOf(req.headers['x-request-id'])
    res.set('X-Request-Id', id)
    recorder.run(id, next)
  })
  app.use(scopeguard(recorder.guardOptions))
  app.get('/health', handler('GET /health'))
  const tenants = express.Router({ mergeParams })
  tenants.get('/items', handler('GET /api/v1/tenants/:tenantId/items'))
  tenants.post('/items', handler('POST /api/v1/tenants/:tenantId/items'))
  const v1 = express.Router()
  v1.get('/items', handler('GET /api/v1/items'))
  v1.post('/items', handler('POST /api/v1/items'))
  v1.get('/items/:id', handler('GET /api/v1/items/:id'))
  v1.delete('/items/:id', handler('DELETE /api/v1/items/:id'))
  v1.post(
    '/items/:id/archive',
    requireScopes('archive:items'),
    handler('POST /api/v1/items/:id/archive'),
  )
  v1.use('/tenants/:tenantId', tenants)
  v1.get('/reports', handler('GET /api/v1/reports'))
  v1.all('/everything', handler('ALL /api/v1/everything'))
  v1.get('/stats', handler('GET /api/v1/stats'))
  v1.get('/unmapped', handler('GET /api/v1/unmapped'))
  const api = express.Router()
  api.use('/v1', v1)
  app.use('/api', api)
  return serve('express', app, recorder.decisions)
}

/** The items API on Koa 3: `new Router({ prefix: '/api' })`, `api.use('/v1', v1.routes())`, `v1.use('/tenants/:tenantId', …)`. */
export async function startKoaItemsApi(options: ScopeguardOptions): Promise<PolicyApi> {
  const { scopeguard, requireScopes } = sgKoa
  const recorder = createRecorder(options)
  const handler =
    (name: string): Middleware =>
    (ctx) => {
      ctx.set('X-Handler', name)
      ctx.body = { handler: name }
    }
  const app = new Koa()
  app.use((ctx, next) => {
    const id = requestIdOf(ctx.headers['x-request-id'])
    ctx.set('X-Request-Id', id)
    return recorder.run(id, next)
  })
  app.use(scopeguard(recorder.guardOptions))
  const root = new Router()
  root.get('/health', handler('GET /health'))
  const tenants = new Router()
  tenants.get('/items', handler('GET /api/v1/tenants/:tenantId/items'))
  tenants.post('/items', handler('POST /api/v1/tenants/:tenantId/items'))
  const v1 = new Router()
  v1.get('/items', handler('GET /api/v1/items'))
  v1.post('/items', handler('POST /api/v1/items'))
  v1.get('/items/:id', handler('GET /api/v1/items/:id'))
  v1.delete('/items/:id', handler('DELETE /api/v1/items/:id'))
  v1.post(
    '/items/:id/archive',
    requireScopes('archive:items'),
    handler('POST /api/v1/items/:id/archive'),
  )
  v1.use('/tenants/:tenantId', tenants.routes())
  v1.get('/reports', handler('GET /api/v1/reports'))
  v1.all('/everything', handler('ALL /api/v1/everything'))
  v1.get('/stats', handler('GET /api/v1/stats'))
  v1.get('/unmapped', handler('GET /api/v1/unmapped'))
  const api = new Router({ prefix: '/api' })
  api.use('/v1', v1.routes())
  app.use(root.routes())
  app.use(api.routes())
  return serve('koa', app.callback(), recorder.decisions)
}

export const ITEMS_ADAPTERS: readonly [string, StartPolicyApi][] = [
  ['express', (options) => startExpressItemsApi(options)],
  ['koa', startKoaItemsApi],
]

// ---------------------------------------------------------------------------------------------
// The route-differential apps: the same route templates on Express 5 and on Koa 3, reached
// through mounted routers, a prefix, a param in a mount path, a router mounted twice, a
// wildcard, an optional segment, `all` routes and an explicit HEAD route. Every handler
// answers with `X-Handler: METHOD /full/template` naming itself; a method-override middleware
// (after the guard, as apps put it) honours `X-HTTP-Method-Override` on POST.
// ---------------------------------------------------------------------------------------------

/** Every handler of the differential apps, as `METHOD /template` (`ALL` for `all` routes). */
export const DIFFERENTIAL_ROUTES = [
  'GET /',
  'GET /health',
  'ALL /ping',
  'GET /files/*path',
  'GET /docs{/:section}',
  'GET /api/status',
  'GET /api/v1/items',
  'POST /api/v1/items',
  'GET /api/v1/items/:id',
  'PUT /api/v1/items/:id',
  'PATCH /api/v1/items/:id',
  'DELETE /api/v1/items/:id',
  'HEAD /api/v1/items/:id/blob',
  'GET /api/v1/items/:id/blob',
  'GET /api/v1/items/:id/versions/:version',
  'ALL /api/v1/echo',
  'GET /api/v1/tenants/:tenantId',
  'GET /api/v1/tenants/:tenantId/items',
  'POST /api/v1/tenants/:tenantId/items',
  'GET /api/v1/tenants/:tenantId/items/:itemId',
  'DELETE /api/v1/tenants/:tenantId/items/:itemId',
  'GET /api/v1/admin/users',
  'GET /v2/orders',
  'POST /v2/orders/:orderId',
  'GET /legacy/orders',
  'POST /legacy/orders/:orderId',
] as const

/**
 * Methods a POST may be turned into. Not HEAD: Node has already decided that the response to a
 * POST has a body, and a HEAD handler's Content-Length without one leaves the client waiting.
 */
const OVERRIDABLE = new Set(['GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

/** The method an `X-HTTP-Method-Override` header turns a POST into, if any. */
function overriddenMethod(
  method: string,
  header: string | string[] | undefined,
): string | undefined {
  if (method !== 'POST' || typeof header !== 'string') return undefined
  const wanted = header.trim().toUpperCase()
  return OVERRIDABLE.has(wanted) ? wanted : undefined
}

export async function startExpressRouteApp(options: ScopeguardOptions): Promise<PolicyApi> {
  const recorder = createRecorder(options)
  const named =
    (name: string): RequestHandler =>
    (_req, res) =>
      void res.set('X-Handler', name).json({ handler: name })
  /** For the router mounted twice: the mount it was entered through, set by a marker. */
  const mounted =
    (method: string, path: string): RequestHandler =>
    (req, res) => {
      const name = `${method} ${(req as unknown as { mount: string }).mount}${path}`
      res.set('X-Handler', name).json({ handler: name })
    }
  const mark =
    (mount: string): RequestHandler =>
    (req, _res, next) => {
      ;(req as unknown as { mount: string }).mount = mount
      next()
    }
  const app = express()
  app.use((req, res, next) => {
    const id = requestIdOf(req.headers['x-request-id'])
    res.set('X-Request-Id', id)
    recorder.run(id, next)
  })
  app.use(sgExpress.scopeguard(recorder.guardOptions))
  app.use((req, _res, next) => {
    const method = overriddenMethod(req.method, req.headers['x-http-method-override'])
    if (method !== undefined) req.method = method
    next()
  })
  app.get('/', named('GET /'))
  app.get('/health', named('GET /health'))
  app.all('/ping', named('ALL /ping'))
  app.get('/files/*path', named('GET /files/*path'))
  app.get('/docs{/:section}', named('GET /docs{/:section}'))

  const tenants = express.Router({ mergeParams: true })
  tenants.get('/', named('GET /api/v1/tenants/:tenantId'))
  tenants.get('/items', named('GET /api/v1/tenants/:tenantId/items'))
  tenants.post('/items', named('POST /api/v1/tenants/:tenantId/items'))
  tenants.get('/items/:itemId', named('GET /api/v1/tenants/:tenantId/items/:itemId'))
  tenants.delete('/items/:itemId', named('DELETE /api/v1/tenants/:tenantId/items/:itemId'))

  const admin = express.Router()
  admin.get('/users', named('GET /api/v1/admin/users'))

  const v1 = express.Router()
  v1.get('/items', named('GET /api/v1/items'))
  v1.post('/items', named('POST /api/v1/items'))
  v1.get('/items/:id', named('GET /api/v1/items/:id'))
  v1.put('/items/:id', named('PUT /api/v1/items/:id'))
  v1.patch('/items/:id', named('PATCH /api/v1/items/:id'))
  v1.delete('/items/:id', named('DELETE /api/v1/items/:id'))
  v1.head('/items/:id/blob', named('HEAD /api/v1/items/:id/blob'))
  v1.get('/items/:id/blob', named('GET /api/v1/items/:id/blob'))
  v1.get('/items/:id/versions/:version', named('GET /api/v1/items/:id/versions/:version'))
  v1.all('/echo', named('ALL /api/v1/echo'))
  v1.use('/tenants/:tenantId', tenants)
  v1.use('/admin', admin)

  const api = express.Router()
  api.get('/status', named('GET /api/status'))
  api.use('/v1', v1)
  app.use('/api', api)

  const orders = express.Router()
  orders.get('/orders', mounted('GET', '/orders'))
  orders.post('/orders/:orderId', mounted('POST', '/orders/:orderId'))
  app.use('/v2', mark('/v2'), orders)
  app.use('/legacy', mark('/legacy'), orders)
  return serve('express', app, recorder.decisions)
}

export async function startKoaRouteApp(options: ScopeguardOptions): Promise<PolicyApi> {
  const recorder = createRecorder(options)
  const named =
    (name: string): Middleware =>
    (ctx) => {
      ctx.set('X-Handler', name)
      ctx.body = { handler: name }
    }
  /** For the router mounted twice: the layer @koa/router says is running (its full path). */
  const mounted =
    (method: string): Middleware =>
    (ctx) => {
      const name = `${method} ${(ctx as unknown as { routerPath: string }).routerPath}`
      ctx.set('X-Handler', name)
      ctx.body = { handler: name }
    }
  const app = new Koa()
  app.use((ctx, next) => {
    const id = requestIdOf(ctx.headers['x-request-id'])
    ctx.set('X-Request-Id', id)
    return recorder.run(id, next)
  })
  app.use(sgKoa.scopeguard(recorder.guardOptions))
  app.use((ctx, next) => {
    const method = overriddenMethod(ctx.method, ctx.headers['x-http-method-override'])
    if (method !== undefined) ctx.method = method
    return next()
  })
  const root = new Router()
  root.get('/', named('GET /'))
  root.get('/health', named('GET /health'))
  root.all('/ping', named('ALL /ping'))
  root.get('/files/*path', named('GET /files/*path'))
  root.get('/docs{/:section}', named('GET /docs{/:section}'))

  const tenants = new Router()
  tenants.get('/', named('GET /api/v1/tenants/:tenantId'))
  tenants.get('/items', named('GET /api/v1/tenants/:tenantId/items'))
  tenants.post('/items', named('POST /api/v1/tenants/:tenantId/items'))
  tenants.get('/items/:itemId', named('GET /api/v1/tenants/:tenantId/items/:itemId'))
  tenants.delete('/items/:itemId', named('DELETE /api/v1/tenants/:tenantId/items/:itemId'))

  const admin = new Router()
  admin.get('/users', named('GET /api/v1/admin/users'))

  const v1 = new Router()
  v1.get('/items', named('GET /api/v1/items'))
  v1.post('/items', named('POST /api/v1/items'))
  v1.get('/items/:id', named('GET /api/v1/items/:id'))
  v1.put('/items/:id', named('PUT /api/v1/items/:id'))
  v1.patch('/items/:id', named('PATCH /api/v1/items/:id'))
  v1.delete('/items/:id', named('DELETE /api/v1/items/:id'))
  v1.head('/items/:id/blob', named('HEAD /api/v1/items/:id/blob'))
  v1.get('/items/:id/blob', named('GET /api/v1/items/:id/blob'))
  v1.get('/items/:id/versions/:version', named('GET /api/v1/items/:id/versions/:version'))
  v1.all('/echo', named('ALL /api/v1/echo'))
  v1.use('/tenants/:tenantId', tenants.routes())
  v1.use('/admin', admin.routes())

  const api = new Router({ prefix: '/api' })
  api.get('/status', named('GET /api/status'))
  api.use('/v1', v1.routes())

  const orders = new Router()
  orders.get('/orders', mounted('GET'))
  orders.post('/orders/:orderId', mounted('POST'))
  const versions = new Router()
  versions.use('/v2', orders.routes())
  versions.use('/legacy', orders.routes())

  app.use(root.routes())
  app.use(api.routes())
  app.use(versions.routes())
  return serve('koa', app.callback(), recorder.decisions)
}

export const ROUTE_APPS: readonly [string, StartPolicyApi][] = [
  ['express', startExpressRouteApp],
  ['koa', startKoaRouteApp],
]

// ---------------------------------------------------------------------------------------------
// Sending any request target.
// ---------------------------------------------------------------------------------------------

/** A response, with what the differential test reads. */
export interface RawReply {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
}

/** A keep-alive agent for many requests to one app. */
export function createAgent(maxSockets = 20): Agent {
  return new Agent({ keepAlive: true, maxSockets })
}

/**
 * Sends `method target` exactly as given: `target` goes on the request line unparsed (origin
 * form with dot segments, `%2F`, `;`, `#`, or absolute form `http://host/path`). Characters
 * above U+00FF are sent as their UTF-8 bytes. The body is discarded.
 */
export function sendRaw(
  port: number,
  method: string,
  target: string,
  headers: Record<string, string>,
  agent: Agent,
): Promise<RawReply> {
  const path = Buffer.from(target, 'utf8').toString('latin1')
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method, path, headers, agent, setHost: true },
      (res) => {
        res.resume()
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }))
        res.on('error', reject)
      },
    )
    req.setTimeout(5_000, () => req.destroy(new Error(`no answer to ${method} ${target}`)))
    req.on('error', reject)
    req.end()
  })
}

// ---------------------------------------------------------------------------------------------
// Small apps for route-layer defects the differential test found (see route-differential.test.ts).
// ---------------------------------------------------------------------------------------------

function expressHandler(name: string): RequestHandler {
  return (_req, res) => void res.set('X-Handler', name).json({ handler: name })
}

function expressBase(options: ScopeguardOptions) {
  const recorder = createRecorder(options)
  const app = express()
  app.use((req, res, next) => {
    const id = requestIdOf(req.headers['x-request-id'])
    res.set('X-Request-Id', id)
    recorder.run(id, next)
  })
  app.use(sgExpress.scopeguard(recorder.guardOptions))
  return { app, recorder }
}

/** Express: an admin sub-app mounted with `app.use('/admin', adminApp)`, beside a public `GET /users`. */
export async function startExpressSubApp(options: ScopeguardOptions): Promise<PolicyApi> {
  const { app, recorder } = expressBase(options)
  app.get('/users', expressHandler('GET /users'))
  const admin = express()
  admin.get('/users', expressHandler('GET /admin/users'))
  app.use('/admin', admin)
  return serve('express', app, recorder.decisions)
}

/**
 * Express, two ways HEAD reaches a GET handler: a route with an `all()` handler before its
 * `get()` and `post()` handlers, and a POST route registered before the GET route of the same
 * path.
 */
export async function startExpressHeadApp(options: ScopeguardOptions): Promise<PolicyApi> {
  const { app, recorder } = expressBase(options)
  app
    .route('/things')
    .all((_req, _res, next) => next()) // e.g. load something every method needs
    .get(expressHandler('GET /things'))
    .post(expressHandler('POST /things'))
  app.post('/items/:id', expressHandler('POST /items/:id'))
  app.get('/items/:id', expressHandler('GET /items/:id'))
  return serve('express', app, recorder.decisions)
}

/** Koa: a router bundled with koa-compose, `app.use(compose([router.routes(), router.allowedMethods()]))`. */
export async function startKoaComposedRouter(options: ScopeguardOptions): Promise<PolicyApi> {
  const recorder = createRecorder(options)
  const app = new Koa()
  app.use((ctx, next) => {
    const id = requestIdOf(ctx.headers['x-request-id'])
    ctx.set('X-Request-Id', id)
    return recorder.run(id, next)
  })
  app.use(sgKoa.scopeguard(recorder.guardOptions))
  const router = new Router()
  router.get('/admin/users', (ctx) => {
    ctx.set('X-Handler', 'GET /admin/users')
    ctx.body = { handler: 'GET /admin/users' }
  })
  app.use(compose([router.routes(), router.allowedMethods()]))
  return serve('koa', app.callback(), recorder.decisions)
}
