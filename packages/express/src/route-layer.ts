import type { Application, Request, Response } from 'express'
import { createTemplateMatcher, type Decision, type Guard } from '@scopeguard/core'
import { join } from './list-routes.js'

/** The parts of Express 5's router (the `router` package) that route-layer enforcement reads. */
interface RouteLike {
  path: string
  methods: Record<string, boolean | undefined>
  dispatch(this: RouteLike, req: Request, res: Response, done: (err?: unknown) => void): void
}
interface LayerLike {
  route?: RouteLike
  rawPath?: unknown
  handle?: { stack?: LayerLike[]; caseSensitive?: boolean }
}
interface RouterLike {
  stack: LayerLike[]
  route(path: string): RouteLike
}

/** The state the guard middleware leaves on a request for route-layer enforcement. */
export interface RouteJudge {
  readonly guard: Guard
  readonly send: (res: Response, decision: Exclude<Decision, { allowed: true }>) => void
}

const judges = new WeakMap<Request, RouteJudge>()
const patched = new WeakSet<object>()
const templates = new WeakMap<
  RouteLike,
  { template: string; test: (baseUrl: string) => boolean }[]
>()

/**
 * Marks a request for judgment at the route layer and makes sure the app's router judges
 * every route it dispatches. Express 5 dispatches a matched route through
 * `Route.prototype.dispatch`; scopeguard wraps that method once, so the rule applied is
 * always the rule of the route whose handlers are about to run — with its full template,
 * mount prefixes included — whichever path, method override or `next('route')` led there.
 * Requests that did not pass a policy guard are dispatched untouched.
 */
export function judgeAtRouteLayer(req: Request, judge: RouteJudge): void {
  judges.set(req, judge)
  const router = (req.app as Application & { router?: RouterLike }).router
  if (router === undefined) return
  const proto = routePrototype(router)
  if (patched.has(proto)) return
  patched.add(proto)
  const original = proto.dispatch
  proto.dispatch = function dispatch(req, res, done) {
    const found = judges.get(req)
    if (found === undefined) return original.call(this, req, res, done)
    const decision = found.guard.judgeRoute(
      req.auth,
      {
        method: dispatchedMethod(this, req.method),
        template: templateOf(req, this),
        params: req.params ?? {},
      },
      { method: req.method, path: req.path },
    )
    if (!decision.allowed) return found.send(res, decision)
    return original.call(this, req, res, done)
  }
}

/** Route.prototype of the `router` package this app uses, without adding a route to the app. */
function routePrototype(router: RouterLike): RouteLike {
  const scratch = { stack: [] as LayerLike[] }
  const route = (Object.getPrototypeOf(router) as RouterLike).route.call(
    scratch as unknown as RouterLike,
    '/',
  )
  return Object.getPrototypeOf(route) as RouteLike
}

/** The method whose handlers run: HEAD runs GET handlers when the route has no HEAD ones. */
function dispatchedMethod(route: RouteLike, method: string): string {
  if (method === 'HEAD' && !route.methods['head'] && !route.methods['_all'] && route.methods['get'])
    return 'GET'
  return method
}

/**
 * The full template of a dispatched route: the mount prefixes it was reached through and its
 * own path. Found by walking the app's router once per route (and again for routes added
 * later); a route mounted under several prefixes is told apart by `req.baseUrl`. A route the
 * walk cannot place (a sub-app, a RegExp mount) gets no template a policy can name, so it is
 * judged as unmapped: denied.
 */
function templateOf(req: Request, route: RouteLike): string {
  let known = templates.get(route)
  if (known === undefined) {
    walk((req.app as Application & { router?: RouterLike }).router?.stack ?? [], '')
    known = templates.get(route) ?? []
  }
  if (known.length === 1) return (known[0] as { template: string }).template
  return known.find((entry) => entry.test(req.baseUrl))?.template ?? `<unplaced> ${route.path}`
}

function walk(stack: readonly LayerLike[], prefix: string): void {
  for (const layer of stack) {
    if (layer.route !== undefined) {
      const list = templates.get(layer.route) ?? []
      const template = join(prefix, layer.route.path)
      if (!list.some((entry) => entry.template === template)) {
        const atRoot = prefix === '' || prefix === '/'
        list.push({
          template,
          test: atRoot ? (base) => base === '' || base === '/' : createTemplateMatcher(prefix),
        })
        templates.set(layer.route, list)
      }
    } else if (Array.isArray(layer.handle?.stack)) {
      const mounts = Array.isArray(layer.rawPath) ? layer.rawPath : [layer.rawPath]
      for (const mount of mounts) {
        if (typeof mount === 'string') walk(layer.handle.stack, join(prefix, mount))
      }
    }
  }
}
