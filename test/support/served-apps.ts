/**
 * Apps of the standards suites (resource metadata, mTLS, step-up): the items API on a server
 * that listens before the guard is created, so that the options can name the API's own URL
 * (its RFC 9728 resource identifier), over plain HTTP or over TLS with client certificates.
 */
import { once } from 'node:events'
import { createServer, request as httpRequest, type RequestListener, type Server } from 'node:http'
import {
  createServer as createTlsServer,
  request as httpsRequest,
  type ServerOptions as TlsOptions,
} from 'node:https'
import type { AddressInfo } from 'node:net'
import express from 'express'
import Koa from 'koa'
import Router from '@koa/router'
import * as sgExpress from '@scopeguard/express'
import * as sgKoa from '@scopeguard/koa'
import type { AuthInfo, GuardControls, ScopeguardOptions } from '@scopeguard/core'

/** A running API and its guard's controls. */
export interface ServedApi extends Omit<GuardControls, 'close'> {
  readonly url: string
  close(): Promise<void>
}

/** Starts the API; `options` receives the API's own URL (`http://127.0.0.1:<port>` or `https://…`). */
export type StartServedApi = (
  options: (url: string) => ScopeguardOptions,
  tls?: TlsOptions,
) => Promise<ServedApi>

/** The step-up requirement of `POST /payments`, given in code. */
export const PAYMENTS_STEP_UP = { acr: ['phr'], maxAge: 300 } as const

/** What every route answers: who called, with which scopes. */
function whoami(auth: AuthInfo | undefined): unknown {
  return auth === undefined
    ? { anonymous: true }
    : {
        clientId: auth.clientId,
        scopes: [...auth.scopes],
        thumbprint: auth.token.certificateThumbprint,
      }
}

async function serve(
  tls: TlsOptions | undefined,
  build: (url: string) => { listener: RequestListener; guard: GuardControls },
): Promise<ServedApi> {
  let listener: RequestListener = (_req, res) => void res.writeHead(503).end()
  const handler: RequestListener = (req, res) => listener(req, res)
  const server: Server = tls === undefined ? createServer(handler) : createTlsServer(tls, handler)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const url = `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${(server.address() as AddressInfo).port}`
  let built: ReturnType<typeof build>
  try {
    built = build(url)
  } catch (error) {
    server.close()
    throw error
  }
  listener = built.listener
  return {
    ...built.guard,
    url,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await built.guard.close()
    },
  }
}

/**
 * The items API on Express 5: `GET /items`, `POST /items`, `POST /transfers`, guarded by the
 * policy of the options, and `POST /payments`, guarded in code by
 * `requireAuthentication({ acr: ['phr'], maxAge: 300 })` and `requireScopes('write:items')`.
 */
export const startServedExpress: StartServedApi = (options, tls) =>
  serve(tls, (url) => {
    const app = express()
    const guard = sgExpress.scopeguard(options(url))
    app.use(guard)
    app.get('/items', (req, res) => void res.json(whoami(req.auth)))
    app.post('/items', (req, res) => void res.status(201).json(whoami(req.auth)))
    app.post('/transfers', (req, res) => void res.status(201).json(whoami(req.auth)))
    app.post(
      '/payments',
      sgExpress.requireAuthentication(PAYMENTS_STEP_UP),
      sgExpress.requireScopes('write:items'),
      (req, res) => void res.status(201).json(whoami(req.auth)),
    )
    return { listener: app, guard }
  })

/** The same API on Koa 3 with @koa/router. */
export const startServedKoa: StartServedApi = (options, tls) =>
  serve(tls, (url) => {
    const app = new Koa()
    const guard = sgKoa.scopeguard(options(url))
    const router = new Router()
    router.get('/items', (ctx) => void (ctx.body = whoami(ctx.state.auth)))
    router.post('/items', (ctx) => {
      ctx.status = 201
      ctx.body = whoami(ctx.state.auth)
    })
    router.post('/transfers', (ctx) => {
      ctx.status = 201
      ctx.body = whoami(ctx.state.auth)
    })
    router.post(
      '/payments',
      sgKoa.requireAuthentication(PAYMENTS_STEP_UP),
      sgKoa.requireScopes('write:items'),
      (ctx) => {
        ctx.status = 201
        ctx.body = whoami(ctx.state.auth)
      },
    )
    app.use(guard)
    app.use(router.routes())
    return { listener: app.callback(), guard }
  })

/** Both adapters, for suites that run the same cases against each. */
export const SERVED_ADAPTERS: readonly [string, StartServedApi][] = [
  ['express', startServedExpress],
  ['koa', startServedKoa],
]

/** A response as it came off the wire. */
export interface TlsResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/**
 * Sends one request over HTTPS (or HTTP), presenting `certificate` as the TLS client
 * certificate when given; trusts `ca` for the server. A fresh connection each time.
 */
export function sendTls(
  url: string,
  options: {
    method?: string
    headers?: Record<string, string | string[]>
    ca?: string
    certificate?: { key: string; cert: string }
  } = {},
): Promise<TlsResponse> {
  const target = new URL(url)
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: false,
        ...(target.protocol === 'https:'
          ? { ca: options.ca, key: options.certificate?.key, cert: options.certificate?.cert }
          : {}),
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        )
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end()
  })
}
