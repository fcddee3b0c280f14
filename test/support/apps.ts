import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { createServer, type Server } from 'node:http'
import express from 'express'
import Koa from 'koa'
import Router from '@koa/router'
import * as sgExpress from '@scopeguard/express'
import * as sgKoa from '@scopeguard/koa'
import type { GuardControls, ScopeguardOptions } from '@scopeguard/core'

/** A running test API: the items API of the examples, protected by scopeguard. */
export interface TestApi extends Omit<GuardControls, 'close'> {
  readonly adapter: 'express' | 'koa'
  readonly url: string
  /** Stops the server, then closes the guard (flushing its sinks within `deadlineMs`). */
  close(deadlineMs?: number): Promise<void>
}

/** How the app around the guard is set up. */
export interface AppSettings {
  /** Trust `X-Forwarded-*` from a proxy: Express `trust proxy`, Koa `app.proxy`. Default false. */
  readonly trustProxy?: boolean
}

export type StartApi = (options: ScopeguardOptions, settings?: AppSettings) => Promise<TestApi>

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

async function stop(server: Server, closeGuard: () => Promise<void>): Promise<void> {
  if (server.listening) {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  await closeGuard()
}

/** The items API on Express 5. */
export const startExpressApi: StartApi = async (options, settings = {}) => {
  const { scopeguard, requireScopes } = sgExpress
  const app = express()
  app.set('trust proxy', settings.trustProxy === true)
  const guard = scopeguard(options)
  app.get('/health', (_req, res) => void res.json({ ok: true }))
  app.use(guard)
  app.get(
    '/items',
    requireScopes('read:items'),
    (req, res) => void res.json({ items: [], client: req.auth?.clientId }),
  )
  app.post(
    '/items',
    requireScopes('write:items'),
    (_req, res) => void res.status(201).json({ created: true }),
  )
  app.delete(
    '/items/:id',
    requireScopes('delete:items or admin'),
    (_req, res) => void res.status(204).end(),
  )
  app.get('/whoami', (req, res) => void res.json(describe(req.auth)))
  const server = createServer(app)
  const url = await listen(server)
  return {
    adapter: 'express',
    url,
    ...guard,
    close: (deadline) => stop(server, () => guard.close(deadline)),
  }
}

/** The items API on Koa 3 with @koa/router. */
export const startKoaApi: StartApi = async (options, settings = {}) => {
  const { scopeguard, requireScopes } = sgKoa
  const app = new Koa()
  app.proxy = settings.trustProxy === true
  const guard = scopeguard(options)
  const open = new Router()
  open.get('/health', (ctx) => void (ctx.body = { ok: true }))
  const router = new Router()
  router.get(
    '/items',
    requireScopes('read:items'),
    (ctx) => void (ctx.body = { items: [], client: ctx.state.auth?.clientId }),
  )
  router.post('/items', requireScopes('write:items'), (ctx) => {
    ctx.status = 201
    ctx.body = { created: true }
  })
  router.delete(
    '/items/:id',
    requireScopes('delete:items or admin'),
    (ctx) => void (ctx.status = 204),
  )
  router.get('/whoami', (ctx) => void (ctx.body = describe(ctx.state.auth)))
  app.use(open.routes())
  app.use(guard)
  app.use(router.routes())
  const server = createServer(app.callback())
  const url = await listen(server)
  return {
    adapter: 'koa',
    url,
    ...guard,
    close: (deadline) => stop(server, () => guard.close(deadline)),
  }
}

function describe(auth: sgExpress.AuthInfo | undefined): unknown {
  if (auth === undefined) return { anonymous: true }
  return {
    clientId: auth.clientId,
    subject: auth.subject,
    scopes: [...auth.scopes],
    format: auth.token.format,
    algorithm: auth.token.algorithm,
    tokenId: auth.token.id,
    binding: auth.binding,
  }
}

/** Both adapters, for suites that run the same cases against each. */
export const ADAPTERS: readonly [string, StartApi][] = [
  ['express', startExpressApi],
  ['koa', startKoaApi],
]
