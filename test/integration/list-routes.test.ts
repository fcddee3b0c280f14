import express from 'express'
import Koa from 'koa'
import Router from '@koa/router'
import { describe, expect, it } from 'vitest'
import { listRoutes as listExpressRoutes } from '@scopeguard/express'
import { listRoutes as listKoaRoutes } from '@scopeguard/koa'

const ok = (): void => undefined

describe('listRoutes', () => {
  it('lists an Express app with mounted and nested routers as full templates', () => {
    const app = express()
    app.get('/health', ok)
    const inner = express.Router()
    inner.route('/items/:id').get(ok).delete(ok)
    const outer = express.Router()
    outer.use('/v1', inner)
    outer.post('/items', ok)
    outer.all('/echo', ok)
    app.use('/api', outer)
    app.use('/tenants/:tenantId', inner)
    app.use(/^\/re/, express.Router().get('/x', ok))
    expect(listExpressRoutes(app)).toEqual([
      { method: 'GET', path: '/health' },
      { method: 'GET', path: '/api/v1/items/:id' },
      { method: 'DELETE', path: '/api/v1/items/:id' },
      { method: 'POST', path: '/api/items' },
      { method: 'ALL', path: '/api/echo' },
      { method: 'GET', path: '/tenants/:tenantId/items/:id' },
      { method: 'DELETE', path: '/tenants/:tenantId/items/:id' },
    ])
  })

  it('lists the routes of every @koa/router router of a Koa app, prefixes included', () => {
    const app = new Koa()
    const inner = new Router()
    inner.get('/items/:id', ok).delete('/items/:id', ok)
    const api = new Router({ prefix: '/api' })
    api.use('/v1', inner.routes())
    api.post('/items', ok)
    const open = new Router()
    open.get('/health', ok)
    app.use(open.routes())
    app.use(api.routes())
    expect(listKoaRoutes(app)).toEqual([
      { method: 'GET', path: '/health' },
      { method: 'GET', path: '/api/v1/items/:id' },
      { method: 'DELETE', path: '/api/v1/items/:id' },
      { method: 'POST', path: '/api/items' },
    ])
  })
})
