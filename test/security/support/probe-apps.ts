/**
 * The probe API of the security suites, on Express 5 and on Koa 3: a form body parser before
 * the guard (so RFC 6750 §2.2 tokens can be tested), routes that need `read:items` and
 * `admin`, and `/probe`, which describes `auth` as the handler sees it (its scopes, its
 * fingerprint, and whether its claims have a prototype or inherited members). Every handler
 * records that it ran.
 */
import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parse as parseQuery } from 'node:querystring'
import express from 'express'
import Koa from 'koa'
import Router from '@koa/router'
import type { AuthInfo, GuardControls, ScopeguardOptions } from '@scopeguard/core'
import * as sgExpress from '@scopeguard/express'
import * as sgKoa from '@scopeguard/koa'

export interface ProbeApi extends Omit<GuardControls, 'close'> {
  readonly adapter: 'express' | 'koa'
  readonly url: string
  /** Names of the handlers that ran, in order. */
  readonly ran: string[]
  close(): Promise<void>
}

export type StartProbeApi = (options: ScopeguardOptions) => Promise<ProbeApi>

/** What `/probe` answers: `auth` as a handler sees it. */
export interface AuthDescription {
  anonymous?: true
  scopes: string[]
  fingerprint: string
  clientId: string | null
  claimKeys: string[]
  claimsPrototype: 'null' | 'object'
  frozen: boolean
  /** Members found by `for…in` that are not own members (inherited). */
  inherited: string[]
  /** `typeof claims[name]` for names a prototype would supply. */
  lookups: Record<string, string>
  /** JSON pointers of nested objects (not arrays) that have a prototype. */
  nestedWithPrototype: string[]
}

const LOOKUPS = [
  'admin',
  'polluted',
  'toString',
  'constructor',
  'hasOwnProperty',
  'valueOf',
  '__proto__',
  'prototype',
] as const

export function describeAuth(auth: AuthInfo | undefined): AuthDescription {
  if (auth === undefined) {
    return {
      anonymous: true,
      scopes: [],
      fingerprint: '',
      clientId: null,
      claimKeys: [],
      claimsPrototype: 'null',
      frozen: true,
      inherited: [],
      lookups: {},
      nestedWithPrototype: [],
    }
  }
  const claims = auth.claims as Record<string, unknown>
  const inherited: string[] = []
  for (const key in claims) if (!Object.hasOwn(claims, key)) inherited.push(key)
  const nestedWithPrototype: string[] = []
  const walk = (value: unknown, pointer: string, depth: number): void => {
    if (value === null || typeof value !== 'object' || depth > 32) return
    if (!Array.isArray(value) && Object.getPrototypeOf(value) !== null) {
      nestedWithPrototype.push(pointer)
    }
    for (const key of Object.keys(value)) {
      walk((value as Record<string, unknown>)[key], `${pointer}/${key}`, depth + 1)
    }
  }
  for (const key of Object.keys(claims)) walk(claims[key], `/${key}`, 0)
  return {
    scopes: [...auth.scopes].sort(),
    fingerprint: auth.token.fingerprint,
    clientId: auth.clientId ?? null,
    claimKeys: Reflect.ownKeys(claims).map(String),
    claimsPrototype: Object.getPrototypeOf(claims) === null ? 'null' : 'object',
    frozen: Object.isFrozen(claims),
    inherited,
    lookups: Object.fromEntries(LOOKUPS.map((name) => [name, typeof claims[name]])),
    nestedWithPrototype,
  }
}

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

async function stop(server: Server): Promise<void> {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
}

export const startExpressProbe: StartProbeApi = async (options) => {
  const { scopeguard, requireScopes } = sgExpress
  const ran: string[] = []
  const app = express()
  const guard = scopeguard(options)
  app.use(express.urlencoded({ extended: false, limit: '4mb' }))
  app.use(guard)
  const ok =
    (name: string): express.RequestHandler =>
    (_req, res) => {
      ran.push(name)
      res.json({ ran: name })
    }
  app.get('/items', requireScopes('read:items'), ok('GET /items'))
  app.post('/items', requireScopes('read:items'), ok('POST /items'))
  app.get('/admin', requireScopes('admin'), ok('GET /admin'))
  app.get('/probe', (req, res) => {
    ran.push('GET /probe')
    res.json(describeAuth(req.auth))
  })
  const server = createServer(app)
  const url = await listen(server)
  return {
    adapter: 'express',
    url,
    ran,
    ...guard,
    close: async () => {
      await stop(server)
      await guard.close()
    },
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => resolve(Buffer.concat(chunks).toString()))
    req.on('error', reject)
  })
}

export const startKoaProbe: StartProbeApi = async (options) => {
  const { scopeguard, requireScopes } = sgKoa
  const ran: string[] = []
  const app = new Koa()
  const guard = scopeguard(options)
  // The form body parser a Koa app would install before the guard (querystring semantics, as
  // Express's urlencoded({ extended: false }): a repeated name becomes an array).
  app.use(async (ctx, next) => {
    if (/^application\/x-www-form-urlencoded/i.test(ctx.get('content-type'))) {
      ;(ctx.request as { body?: unknown }).body = parseQuery(await readBody(ctx.req))
    }
    await next()
  })
  app.use(guard)
  const router = new Router()
  const ok = (name: string) => (ctx: Koa.Context) => {
    ran.push(name)
    ctx.body = { ran: name }
  }
  router.get('/items', requireScopes('read:items'), ok('GET /items'))
  router.post('/items', requireScopes('read:items'), ok('POST /items'))
  router.get('/admin', requireScopes('admin'), ok('GET /admin'))
  router.get('/probe', (ctx) => {
    ran.push('GET /probe')
    ctx.body = describeAuth(ctx.state.auth)
  })
  app.use(router.routes())
  const server = createServer(app.callback())
  const url = await listen(server)
  return {
    adapter: 'koa',
    url,
    ran,
    ...guard,
    close: async () => {
      await stop(server)
      await guard.close()
    },
  }
}

/** Both adapters, as test/support/apps.ts ADAPTERS lists them, with the probe routes. */
export const PROBE_ADAPTERS: readonly [string, StartProbeApi][] = [
  ['express', startExpressProbe],
  ['koa', startKoaProbe],
]
