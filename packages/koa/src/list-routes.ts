import type Koa from 'koa'
import type { Middleware } from 'koa'

/** A route an app registers: its method and full path template. */
export interface RegisteredRoute {
  readonly method: string
  readonly path: string
}

const ALL_THRESHOLD = 10

interface RouterLike {
  stack: { path: string | RegExp; methods: string[] }[]
}

/**
 * Lists the routes of every @koa/router router a Koa app uses, with full templates (router
 * prefixes and nested routers included), as the policy names them. The HEAD that
 * @koa/router adds to every GET route is left out; a RegExp route is listed as `<unplaced>`.
 *
 * @example
 * listRoutes(app) // => [{ method: 'GET', path: '/api/items/:id' }, …]
 */
export function listRoutes(app: Koa): RegisteredRoute[] {
  const routes: RegisteredRoute[] = []
  for (const fn of app.middleware) {
    const router = (fn as Middleware & { router?: RouterLike }).router
    for (const layer of router?.stack ?? []) {
      const path = typeof layer.path === 'string' ? layer.path : '<unplaced>'
      // router.all() registers every method Node knows: one ALL entry reads better.
      if (layer.methods.length > ALL_THRESHOLD) {
        routes.push({ method: 'ALL', path })
        continue
      }
      for (const method of layer.methods) {
        if (method === 'HEAD' && layer.methods.includes('GET')) continue
        routes.push({ method, path })
      }
    }
  }
  return routes
}
