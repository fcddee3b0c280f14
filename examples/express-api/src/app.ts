import express, { type Express } from 'express'
import {
  requireScopes,
  scopeguard,
  type ScopeguardMiddleware,
  type ScopeguardOptions,
} from '@scopeguard/express'

/** An item of the example API. */
interface Item {
  id: number
  name: string
}

/**
 * The items API on Express 5: list, create and delete items, and a public health check.
 * Every route but `/health` needs a valid access token; each one says which scopes.
 *
 * @example
 * const { app } = createItemsApp({ issuer: 'http://127.0.0.1:4000', audience: 'https://items-api.scopeguard.test' })
 * app.listen(3000)
 */
export function createItemsApp(options: ScopeguardOptions): {
  app: Express
  guard: ScopeguardMiddleware
} {
  const items: Item[] = [{ id: 1, name: 'first item' }]
  let nextId = 2
  const guard = scopeguard(options)
  const app = express()

  app.get('/health', (_req, res) => {
    res.json({ ok: true })
  })
  app.use(guard) // every route below needs a valid token
  app.use(express.json())

  app.get('/items', requireScopes('read:items'), (req, res) => {
    res.json({ items, servedTo: req.auth?.clientId })
  })
  app.post('/items', requireScopes('write:items'), (req, res) => {
    const body = req.body as { name?: unknown } | undefined
    const item = { id: nextId++, name: typeof body?.name === 'string' ? body.name : 'unnamed' }
    items.push(item)
    res.status(201).json(item)
  })
  app.get('/reports', requireScopes('read:items'), (_req, res) => {
    res.json({ items: items.length })
  })
  app.delete('/items/:id', requireScopes('delete:items or admin'), (req, res) => {
    const index = items.findIndex((item) => String(item.id) === req.params['id'])
    if (index === -1) {
      res.status(404).json({ error: 'not_found' })
      return
    }
    items.splice(index, 1)
    res.status(204).end()
  })
  return { app, guard }
}
