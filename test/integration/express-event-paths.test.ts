import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express, { type Express } from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DecisionEvent, PolicyDocument, ScopeguardEvent } from '@scopeguard/core'
import { requireScopes, scopeguard, type ScopeguardMiddleware } from '@scopeguard/express'
import { bearer, send } from '../support/http.js'
import {
  AUDIENCE,
  createStaticSigner,
  ISSUER,
  type StaticSigner,
} from '../support/static-signer.js'

/**
 * The `path` of an Express decision is the path the client asked for, mount prefixes included
 * and the query left out, wherever the request is judged: by the guard itself (401), by
 * `requireScopes` inside a mounted router, by a policy rule of a mounted router's route, or by
 * the policy for a path no route takes. The same path a Koa decision records.
 */
let signer: StaticSigner
beforeAll(async () => {
  signer = await createStaticSigner()
})

const POLICY: PolicyDocument = {
  version: 1,
  defaults: { unmatched: 'deny' },
  scopes: { 'read:items': {}, 'write:items': {} },
  routes: { 'GET /api/items/:id': 'read:items' },
}

interface Served {
  url: string
  events: DecisionEvent[]
  close(): Promise<void>
}

async function serve(
  build: (app: Express, guard: ScopeguardMiddleware) => void,
  policy?: PolicyDocument,
): Promise<Served> {
  const events: DecisionEvent[] = []
  const guard = scopeguard({
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: signer.keys,
    ...(policy === undefined ? {} : { policy }),
    onEvent: (event: ScopeguardEvent) => {
      if (event.type === 'decision') events.push(event)
    },
  })
  const app = express()
  build(app, guard)
  const server: Server = createServer(app)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    events,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await guard.close()
    },
  }
}

/** Sends one request and answers the status with the decision it recorded. */
async function judged(served: Served, path: string, scope?: string) {
  const before = served.events.length
  const headers = scope === undefined ? [] : [bearer(await signer.sign({ scope }))]
  const reply = await send(`${served.url}${path}`, { headers })
  const recorded = served.events.slice(before)
  expect(recorded).toHaveLength(1)
  const [event] = recorded as [DecisionEvent]
  return { status: reply.status, path: event.path, route: event.route, reason: event.reason }
}

describe('Express: the path a decision records', () => {
  describe('requireScopes in a router mounted at /api', () => {
    let served: Served
    beforeAll(async () => {
      served = await serve((app, guard) => {
        app.use(guard)
        const api = express.Router()
        api.get('/items', requireScopes('read:items'), (_req, res) => void res.json([]))
        app.use('/api', api)
      })
    })
    afterAll(() => served?.close())

    it('records the full path of an allowed request, without the query', async () => {
      expect(await judged(served, '/api/items?page=2', 'read:items')).toEqual({
        status: 200,
        path: '/api/items',
        route: undefined,
        reason: 'allowed',
      })
    })

    it('records the full path of a refusal by requireScopes and by the guard', async () => {
      expect(await judged(served, '/api/items?page=2', 'write:items')).toMatchObject({
        status: 403,
        path: '/api/items',
        reason: 'scope_insufficient',
      })
      expect(await judged(served, '/api/items?page=2')).toMatchObject({
        status: 401,
        path: '/api/items',
        reason: 'token_missing',
      })
    })
  })

  describe('a policy, with its route in a router mounted at /api', () => {
    let served: Served
    beforeAll(async () => {
      served = await serve((app, guard) => {
        app.use(guard)
        const api = express.Router()
        api.get('/items/:id', (req, res) => void res.json({ id: req.params['id'] }))
        app.use('/api', api)
      }, POLICY)
    })
    afterAll(() => served?.close())

    it('records the full path of a request its route judged, and the template', async () => {
      expect(await judged(served, '/api/items/7?x=1', 'read:items')).toEqual({
        status: 200,
        path: '/api/items/7',
        route: '/api/items/:id',
        reason: 'allowed',
      })
      expect(await judged(served, '/api/items/7?x=1', 'write:items')).toMatchObject({
        status: 403,
        path: '/api/items/7',
        route: '/api/items/:id',
      })
    })

    it('records the full path of a request no route takes', async () => {
      expect(await judged(served, '/api/nothing?x=1', 'read:items')).toMatchObject({
        status: 403,
        path: '/api/nothing',
      })
    })
  })
})
