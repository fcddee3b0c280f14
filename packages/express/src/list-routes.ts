import type { Application } from 'express'

/** A route an app registers: its method (or `ALL`) and full path template. */
export interface RegisteredRoute {
  readonly method: string
  readonly path: string
}

interface LayerLike {
  route?: { path: unknown; methods: Record<string, boolean | undefined> }
  rawPath?: unknown
  handle?: { stack?: LayerLike[] }
}

/**
 * Lists the routes an Express 5 app registers, with full templates (mount prefixes of
 * Routers included), in registration order, as the policy names them. A route under a RegExp
 * path is listed as `<unplaced>`; a mounted sub-application, whose routes the parent cannot
 * read, as one `ALL <sub-app> /mount` entry (list the sub-app itself for its routes).
 *
 * @example
 * listRoutes(app) // => [{ method: 'GET', path: '/api/items/:id' }, …]
 */
export function listRoutes(app: Application): RegisteredRoute[] {
  const routes: RegisteredRoute[] = []
  const stack = (app as Application & { router?: { stack: LayerLike[] } }).router?.stack ?? []
  walk(stack, '', routes)
  return routes
}

function walk(stack: readonly LayerLike[], prefix: string, into: RegisteredRoute[]): void {
  for (const layer of stack) {
    if (layer.route !== undefined) {
      const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path]
      for (const path of paths) {
        const template = typeof path === 'string' ? join(prefix, path) : '<unplaced>'
        for (const [method, on] of Object.entries(layer.route.methods)) {
          if (on)
            into.push({ method: method === '_all' ? 'ALL' : method.toUpperCase(), path: template })
        }
      }
    } else if (Array.isArray(layer.handle?.stack)) {
      const mounts = Array.isArray(layer.rawPath) ? layer.rawPath : [layer.rawPath]
      for (const mount of mounts) {
        if (typeof mount === 'string') walk(layer.handle.stack, join(prefix, mount), into)
      }
    } else if ((layer.handle as { name?: string } | undefined)?.name === 'mounted_app') {
      // A sub-app's routes cannot be read from the parent: list the mount so coverage shows it.
      const mount = typeof layer.rawPath === 'string' ? join(prefix, layer.rawPath) : prefix
      into.push({ method: 'ALL', path: `<sub-app> ${mount}` })
    }
  }
}

/** Joins a mount prefix and a route path as the router composes them. */
export function join(prefix: string, path: string): string {
  if (path === '/' || path === '') return prefix === '' ? '/' : prefix
  return prefix === '/' ? path : prefix + path
}
