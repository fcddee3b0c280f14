import Koa from 'koa'
import Router from '@koa/router'
import {
  requireScopes,
  scopeguard,
  type ScopeguardMiddleware,
  type ScopeguardOptions,
} from '@scopeguard/koa'

/** An item of the example API. */
interface Item {
  id: number
  name: string
}

/**
 * The items API on Koa 3 with @koa/router: list, create and delete items, and a public
 * health check. Every route but `/health` needs a valid access token; each one says which
 * scopes.
 *
 * @example
 * const { app } = createItemsApp({ issuer: 'http://127.0.0.1:4000', audience: 'https://items-api.scopeguard.test' })
 * app.listen(3001)
 */
export function createItemsApp(options: ScopeguardOptions): {
  app: Koa
  guard: ScopeguardMiddleware
} {
  const items: Item[] = [{ id: 1, name: 'first item' }]
  let nextId = 2
  const guard = scopeguard(options)
  const app = new Koa()
  const open = new Router()
  const router = new Router()

  open.get('/health', (ctx) => {
    ctx.body = { ok: true }
  })
  router.get('/items', requireScopes('read:items'), (ctx) => {
    ctx.body = { items, servedTo: ctx.state.auth?.clientId }
  })
  router.post('/items', requireScopes('write:items'), (ctx) => {
    const item = { id: nextId++, name: 'unnamed' }
    items.push(item)
    ctx.status = 201
    ctx.body = item
  })
  router.get('/reports', requireScopes('read:items'), (ctx) => {
    ctx.body = { items: items.length }
  })
  router.delete('/items/:id', requireScopes('delete:items or admin'), (ctx) => {
    const index = items.findIndex((item) => String(item.id) === ctx.params['id'])
    if (index === -1) {
      ctx.status = 404
      ctx.body = { error: 'not_found' }
      return
    }
    items.splice(index, 1)
    ctx.status = 204
  })

  app.use(open.routes())
  app.use(guard) // every route below needs a valid token
  app.use(router.routes())
  app.use(router.allowedMethods())
  return { app, guard }
}
