/**
 * The policy-guarded apps of the route suite, on Express 5 and Koa 3: admin routes in every
 * shape a router offers (a plain path, a wildcard, `all`, a mounted router, a `next('route')`
 * fall-through, a RegExp path, a route the policy forgets, a GET route whose HEAD the policy
 * makes public), a method-override middleware before the guard, and handlers that record that
 * they ran. A second app per adapter serves a response from plain middleware after the guard.
 */
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express, { type RequestHandler } from 'express'
import Koa, { type Context, type Next } from 'koa'
import Router from '@koa/router'
import type { PolicyDocument, ScopeguardOptions } from '@scopeguard/core'
import * as sgExpress from '@scopeguard/express'
import * as sgKoa from '@scopeguard/koa'

/** Handlers that only a caller holding `admin` may ever reach. */
export const ADMIN_HANDLERS = new Set([
  'GET /admin',
  'GET /admin/users',
  'POST /admin/users',
  'GET /admin/files/*path',
  'ALL /admin/all',
  'GET /things/secret',
  'GET /api/admin',
  'GET /reports',
  'GET <regexp /admin-re>',
  'GET /admin-unmapped',
  'USE /admin-mw',
])

export const ROUTE_POLICY: PolicyDocument = {
  version: 1,
  defaults: { unmatched: 'deny', mode: 'enforce' },
  scopes: { 'read:items': {}, admin: { implies: ['read:items'] } },
  routes: {
    'GET /health': { public: true },
    'GET /items': 'read:items',
    'GET /admin': 'admin',
    'GET /admin/users': 'admin',
    'POST /admin/users': 'admin',
    'GET /admin/files/*path': 'admin',
    'ALL /admin/all': 'admin',
    'GET /things/:id': 'read:items',
    'GET /things/secret': 'admin',
    'GET /api/admin': 'admin',
    'GET /reports': 'admin',
    // A trap: HEAD is public, but a HEAD request runs the GET handler, so it must be judged by GET.
    'HEAD /reports': { public: true },
  },
}

export interface RouteApp {
  readonly adapter: 'express' | 'koa'
  readonly url: string
  /** Handlers that ran, in order. */
  readonly ran: string[]
  close(): Promise<void>
}

export type StartRouteApp = (options: ScopeguardOptions) => Promise<RouteApp>

async function serve(
  adapter: 'express' | 'koa',
  listener: Parameters<typeof createServer>[1],
  ran: string[],
  closeGuard: () => Promise<void>,
): Promise<RouteApp> {
  const server: Server = createServer(listener)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    adapter,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    ran,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await closeGuard()
    },
  }
}

/** `X-HTTP-Method-Override` or `?_method=` on a POST, as method-override does. */
function overridden(method: string, header: unknown, url: string): string | undefined {
  if (method !== 'POST') return undefined
  const query = /[?&]_method=([A-Za-z]+)/.exec(url)?.[1]
  const wanted = (typeof header === 'string' ? header : query)?.toUpperCase()
  return wanted !== undefined && ['GET', 'PUT', 'PATCH', 'DELETE'].includes(wanted)
    ? wanted
    : undefined
}

export const startExpressRouteApp: StartRouteApp = async (options) => {
  const { scopeguard } = sgExpress
  const ran: string[] = []
  const app = express()
  const guard = scopeguard(options)
  app.use((req, _res, next) => {
    const method = overridden(req.method, req.headers['x-http-method-override'], req.url)
    if (method !== undefined) req.method = method
    next()
  })
  app.use(guard)
  const h =
    (name: string): RequestHandler =>
    (_req, res) => {
      ran.push(name)
      res.status(200).json({ handler: name })
    }
  app.get('/health', h('GET /health'))
  app.get('/items', h('GET /items'))
  app.get('/admin', h('GET /admin'))
  app.get('/admin/users', h('GET /admin/users'))
  app.post('/admin/users', h('POST /admin/users'))
  app.get('/admin/files/*path', h('GET /admin/files/*path'))
  app.all('/admin/all', h('ALL /admin/all'))
  app.get('/things/:id', (req, res, next) => {
    ran.push('GET /things/:id')
    if (req.params['id']?.toLowerCase() === 'secret') return next('route')
    res.json({ handler: 'GET /things/:id' })
  })
  app.get('/things/secret', h('GET /things/secret'))
  const api = express.Router()
  api.get('/admin', h('GET /api/admin'))
  app.use('/api', api)
  app.get('/reports', h('GET /reports'))
  app.get(/^\/admin-re/, h('GET <regexp /admin-re>'))
  app.get('/admin-unmapped', h('GET /admin-unmapped'))
  return serve('express', app, ran, () => guard.close())
}

export const startKoaRouteApp: StartRouteApp = async (options) => {
  const { scopeguard } = sgKoa
  const ran: string[] = []
  const app = new Koa()
  const guard = scopeguard(options)
  app.use(async (ctx, next) => {
    const method = overridden(ctx.method, ctx.get('x-http-method-override') || undefined, ctx.url)
    if (method !== undefined) ctx.method = method
    await next()
  })
  app.use(guard)
  const h = (name: string) => (ctx: Context) => {
    ran.push(name)
    ctx.body = { handler: name }
  }
  const router = new Router()
  router.get('/health', h('GET /health'))
  router.get('/items', h('GET /items'))
  router.get('/admin', h('GET /admin'))
  router.get('/admin/users', h('GET /admin/users'))
  router.post('/admin/users', h('POST /admin/users'))
  router.get('/admin/files/*path', h('GET /admin/files/*path'))
  router.all('/admin/all', h('ALL /admin/all'))
  router.get('/things/:id', async (ctx: Context, next: Next) => {
    ran.push('GET /things/:id')
    if (String(ctx['params']?.id).toLowerCase() === 'secret') return next()
    ctx.body = { handler: 'GET /things/:id' }
  })
  router.get('/things/secret', h('GET /things/secret'))
  router.get('/reports', h('GET /reports'))
  router.get(/^\/admin-re/, h('GET <regexp /admin-re>'))
  router.get('/admin-unmapped', h('GET /admin-unmapped'))
  const api = new Router({ prefix: '/api' })
  api.get('/admin', h('GET /api/admin'))
  app.use(router.routes())
  app.use(api.routes())
  return serve('koa', app.callback(), ran, () => guard.close())
}

export const ROUTE_ADAPTERS: readonly [string, StartRouteApp][] = [
  ['express', startExpressRouteApp],
  ['koa', startKoaRouteApp],
]

/**
 * An app whose admin export is plain middleware mounted after the guard (Express
 * `app.use('/admin-mw', handler)`, Koa `app.use(handler)` checking the path), next to one
 * policy route.
 */
export const MIDDLEWARE_ADAPTERS: readonly [string, StartRouteApp][] = [
  [
    'express',
    async (options) => {
      const ran: string[] = []
      const app = express()
      const guard = sgExpress.scopeguard(options)
      app.use(guard)
      app.get('/items', (_req, res) => void res.json({ handler: 'GET /items' }))
      app.use('/admin-mw', (_req, res) => {
        ran.push('USE /admin-mw')
        res.json({ secret: true })
      })
      return serve('express', app, ran, () => guard.close())
    },
  ],
  [
    'koa',
    async (options) => {
      const ran: string[] = []
      const app = new Koa()
      const guard = sgKoa.scopeguard(options)
      app.use(guard)
      const router = new Router()
      router.get('/items', (ctx) => void (ctx.body = { handler: 'GET /items' }))
      app.use(router.routes())
      app.use(async (ctx, next) => {
        if (!ctx.path.startsWith('/admin-mw')) return next()
        ran.push('USE /admin-mw')
        ctx.body = { secret: true }
      })
      return serve('koa', app.callback(), ran, () => guard.close())
    },
  ],
]
