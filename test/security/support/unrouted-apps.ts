/**
 * Policy-guarded apps whose responses come from outside the routers, on Express 5 and Koa 3:
 * plain middleware on a path the policy does not name (`/admin-mw`), on one it names
 * (`/export`) and on a route's path for a method the route does not serve (`POST /items`),
 * static files from a real directory (`/static`), and, beside the routers the
 * guard can see, one it cannot (Express: a mounted sub-app; Koa: a router inside koa-compose)
 * with middleware of its own. Handlers record that they ran; the guard's decision events are
 * collected.
 */
import { once } from 'node:events'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, normalize } from 'node:path'
import express from 'express'
import Koa from 'koa'
import compose from 'koa-compose'
import Router from '@koa/router'
import type { DecisionEvent, PolicyDocument, ScopeguardOptions } from '@scopeguard/core'
import * as sgExpress from '@scopeguard/express'
import * as sgKoa from '@scopeguard/koa'

/** The files under `/static`. */
export const STATIC_FILES = { 'app.js': 'console.log("app")\n', 'secret.txt': 'the secret\n' }

/** A policy naming one router route, two middleware paths, and the hidden routers' routes. */
export const UNROUTED_POLICY: PolicyDocument = {
  version: 1,
  defaults: { unmatched: 'deny', mode: 'enforce' },
  scopes: { 'read:items': {}, admin: { implies: ['read:items'] } },
  routes: {
    'GET /items': 'read:items',
    'GET /export': 'admin',
    'GET /static/*path': 'read:items',
    // More specific than the wildcard: a literal template judges its path alone.
    'GET /static/secret.txt': 'admin',
    'GET /sub/report': 'read:items',
    'GET /composed': 'read:items',
    'GET /stream': 'read:items',
  },
}

export interface UnroutedApp {
  readonly url: string
  /** Handlers that ran, in order. */
  readonly ran: string[]
  /** Decision events, in order. */
  readonly decisions: DecisionEvent[]
  close(): Promise<void>
}

export type StartUnroutedApp = (options: ScopeguardOptions) => Promise<UnroutedApp>

function staticDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'scopeguard-static-'))
  for (const [name, text] of Object.entries(STATIC_FILES)) writeFileSync(join(dir, name), text)
  return dir
}

function recording(options: ScopeguardOptions): {
  options: ScopeguardOptions
  decisions: DecisionEvent[]
} {
  const decisions: DecisionEvent[] = []
  return {
    decisions,
    options: {
      ...options,
      onEvent: (event) => {
        if (event.type === 'decision') decisions.push(event)
      },
    },
  }
}

async function serve(
  listener: Parameters<typeof createServer>[1],
  ran: string[],
  decisions: DecisionEvent[],
  closeGuard: () => Promise<void>,
): Promise<UnroutedApp> {
  const server: Server = createServer(listener)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    ran,
    decisions,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await closeGuard()
    },
  }
}

export const startExpressUnroutedApp: StartUnroutedApp = async (base) => {
  const { options, decisions } = recording(base)
  const ran: string[] = []
  const app = express()
  const guard = sgExpress.scopeguard(options)
  app.use(guard)
  // Like compression: wraps write and end after the guard, for requests that ask for it.
  app.use((req, res, next) => {
    if (req.headers['x-shout'] === undefined) return next()
    const shout = (chunk: unknown): unknown =>
      typeof chunk === 'string' || Buffer.isBuffer(chunk) ? chunk.toString().toUpperCase() : chunk
    const { write, end } = res
    res.write = function (this: typeof res, chunk: unknown, ...rest: unknown[]) {
      return (write as (...args: unknown[]) => boolean).call(this, shout(chunk), ...rest)
    } as typeof res.write
    res.end = function (this: typeof res, chunk: unknown, ...rest: unknown[]) {
      return (end as (...args: unknown[]) => typeof res).call(this, shout(chunk), ...rest)
    } as typeof res.end
    next()
  })
  app.get('/stream', (_req, res) => {
    ran.push('GET /stream')
    res.write('one,')
    res.write('two,')
    res.end('three')
  })
  app.get('/items', (_req, res) => {
    ran.push('GET /items')
    res.json({ handler: 'GET /items' })
  })
  app.use('/items', (req, res, next) => {
    if (req.method === 'PUT') {
      // Headers of its own with writeHead, then a body in pieces.
      ran.push('USE PUT /items')
      res.writeHead(200, { 'X-Secret': '1', 'Content-Length': '6' })
      res.write('se')
      return void res.end('cret')
    }
    if (req.method === 'PATCH') {
      // A body streamed without writeHead: the first write starts the response.
      ran.push('USE PATCH /items')
      res.setHeader('X-Secret', '1')
      res.write('se')
      return void setImmediate(() => res.end('cret'))
    }
    if (req.method !== 'POST') return next()
    ran.push('USE POST /items')
    res.json({ secret: true })
  })
  app.use('/admin-mw', (_req, res) => {
    ran.push('USE /admin-mw')
    res.json({ secret: true })
  })
  app.use('/export', (_req, res) => {
    ran.push('USE /export')
    res.json({ exported: true })
  })
  app.use('/static', express.static(staticDir()))
  // Middleware that answers what the route after it could not decode (the router's URIError).
  app.use('/enc', (req, res, next) => {
    if (!req.path.includes('%')) return next()
    ran.push('USE /enc')
    res.json({ secret: true })
  })
  app.get('/enc/:name', (_req, res) => {
    ran.push('GET /enc/:name')
    res.json({ handler: 'GET /enc/:name' })
  })
  const sub = express()
  sub.get('/report', (_req, res) => {
    ran.push('SUB GET /report')
    res.json({ handler: 'GET /sub/report' })
  })
  sub.use('/raw', (_req, res) => {
    ran.push('SUB USE /raw')
    res.json({ secret: true })
  })
  app.use('/sub', sub)
  return serve(app, ran, decisions, () => guard.close())
}

export const startKoaUnroutedApp: StartUnroutedApp = async (base) => {
  const { options, decisions } = recording(base)
  const ran: string[] = []
  const app = new Koa()
  const guard = sgKoa.scopeguard(options)
  const dir = staticDir()
  app.use(guard)
  const router = new Router()
  router.get('/items', (ctx) => {
    ran.push('GET /items')
    ctx.body = { handler: 'GET /items' }
  })
  app.use(router.routes())
  const hidden = new Router()
  hidden.get('/composed', (ctx) => {
    ran.push('COMPOSED GET /composed')
    ctx.body = { handler: 'GET /composed' }
  })
  app.use(compose([hidden.routes(), hidden.allowedMethods()]))
  app.use(async (ctx, next) => {
    if (ctx.path === '/items' && ctx.method === 'POST') {
      ran.push('USE POST /items')
      ctx.body = { secret: true }
    } else if (ctx.path.startsWith('/admin-mw')) {
      ran.push('USE /admin-mw')
      ctx.body = { secret: true }
    } else if (ctx.path === '/export') {
      ran.push('USE /export')
      ctx.body = { exported: true }
    } else if (ctx.path.startsWith('/static/') && ctx.method === 'GET') {
      // What koa-static does: a file of the directory, by the rest of the path.
      const name = normalize(ctx.path.slice('/static/'.length))
      if (name in STATIC_FILES) {
        ctx.type = 'application/octet-stream'
        ctx.body = readFileSync(join(dir, name))
      }
    } else await next()
  })
  return serve(app.callback(), ran, decisions, () => guard.close())
}

export const UNROUTED_ADAPTERS: readonly [string, StartUnroutedApp][] = [
  ['express', startExpressUnroutedApp],
  ['koa', startKoaUnroutedApp],
]
