import type { Application, Request, Response } from 'express'
import { createTemplateMatcher, type Decision, type Guard } from '@scopeguard/core'
import { join } from './list-routes.js'

/** The parts of Express 5's router (the `router` package) that route-layer enforcement reads. */
interface RouteLike {
  path: string
  methods: Record<string, boolean | undefined>
  _handlesMethod(method: string): boolean
  dispatch(this: RouteLike, req: Request, res: Response, done: (err?: unknown) => void): void
}
interface LayerLike {
  route?: RouteLike
  rawPath?: unknown
  handle?: { stack?: LayerLike[] }
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

/** Where a route sits in the app: its full template, and how to tell it from its other mounts. */
interface Placement {
  readonly template: string
  /** Whether `req.baseUrl` came through this mount prefix. */
  readonly test: (baseUrl: string) => boolean
  /** Parameters of the whole template, mount prefix included, from the request path. */
  readonly params: ((path: string) => Record<string, string | string[]> | undefined) | undefined
}

// Per-request state as symbol properties: cheaper on the hot path than WeakMaps.
const JUDGE = Symbol('scopeguard.judge')
const JUDGE_APP = Symbol('scopeguard.judgeApp')
const JUDGED_TEMPLATE = Symbol('scopeguard.judgedTemplate')
interface JudgedRequest extends Request {
  [JUDGE]?: RouteJudge
  [JUDGE_APP]?: Application
  [JUDGED_TEMPLATE]?: string
}
const patched = new WeakSet<object>()
const placements = new WeakMap<Application, WeakMap<RouteLike, Placement[]>>()

/**
 * Marks a request for judgment at the route layer and makes sure the app's router judges
 * every route it dispatches. Express 5 dispatches a matched route through
 * `Route.prototype.dispatch`; scopeguard wraps that method once, so the rule applied is
 * always the rule of the route whose handlers are about to run — with its full template,
 * mount prefixes included — whichever path, method override or `next('route')` led there.
 * Requests that did not pass a policy guard are dispatched untouched.
 */
export function judgeAtRouteLayer(req: Request, judge: RouteJudge): void {
  // The app the guard is installed on: routes are placed from its router, also when they
  // run inside a sub-app (where `req.app` is the sub-app).
  ;(req as JudgedRequest)[JUDGE] = judge
  ;(req as JudgedRequest)[JUDGE_APP] = req.app
  const router = (req.app as Application & { router?: RouterLike }).router
  if (router === undefined) return
  const proto = routePrototype(router)
  if (patched.has(proto)) return
  patched.add(proto)
  const original = proto.dispatch
  proto.dispatch = function dispatch(req: JudgedRequest, res, done) {
    const found = req[JUDGE]
    // The router also offers a route to a request it has no handler for (HEAD on a route
    // with neither GET nor HEAD): nothing runs there, so there is nothing to judge.
    if (found === undefined || !this._handlesMethod(req.method))
      return original.call(this, req, res, done)
    const placement = placementOf(req[JUDGE_APP] ?? req.app, req.app, this, req.baseUrl)
    const template = placement?.template ?? `<unplaced> ${this.path}`
    req[JUDGED_TEMPLATE] = template
    const decision = found.guard.judgeRoute(
      req.auth,
      { method: dispatchedMethod(this, req.method), template, params: paramsOf(placement, req) },
      { method: req.method, path: req.path },
    )
    if (!decision.allowed) return found.send(res, decision)
    return original.call(this, req, res, done)
  }
}

/** The template the route layer judged this request by, for `requireScopes` records. */
export function judgedTemplate(req: Request): string | undefined {
  return (req as JudgedRequest)[JUDGED_TEMPLATE]
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

/** The method whose handlers run: Route.dispatch runs GET handlers for HEAD without HEAD ones. */
function dispatchedMethod(route: RouteLike, method: string): string {
  return method === 'HEAD' && !route.methods['head'] && route.methods['get'] ? 'GET' : method
}

/**
 * Where a dispatched route sits: found by walking the guard's app once per route (and again
 * for routes added later); a route mounted under several prefixes is told apart by
 * `req.baseUrl`. A route inside a sub-app (`app.use('/admin', subApp)`, where `req.app` is
 * the sub-app) is placed under the sub-app's mount paths up to the guard's app. A route the
 * walk cannot place (under a RegExp or array mount path) has no template a policy can name,
 * so it is judged as unmapped: denied.
 */
function placementOf(
  app: Application,
  current: Application,
  route: RouteLike,
  baseUrl: string,
): Placement | undefined {
  let known = placements.get(app)
  if (known === undefined) placements.set(app, (known = new WeakMap()))
  let list = known.get(route)
  if (list === undefined) {
    const prefix = current === app ? '' : mountPrefix(current, app)
    if (prefix !== undefined)
      walk((current as Application & { router?: RouterLike }).router?.stack ?? [], prefix, known)
    list = known.get(route) ?? []
  }
  return list.length === 1 ? list[0] : list.find((entry) => entry.test(baseUrl))
}

/** The mount path of a sub-app below `app`, through every parent; undefined if not a plain string chain. */
function mountPrefix(subApp: Application, app: Application): string | undefined {
  let prefix = ''
  let node: Application | undefined = subApp
  while (node !== undefined && node !== app) {
    const mountpath: unknown = node.mountpath
    if (typeof mountpath !== 'string') return undefined
    prefix = join(mountpath, prefix === '' ? '/' : prefix)
    node = (node as Application & { parent?: Application }).parent
  }
  return node === app ? prefix : undefined
}

function walk(
  stack: readonly LayerLike[],
  prefix: string,
  into: WeakMap<RouteLike, Placement[]>,
): void {
  for (const layer of stack) {
    if (layer.route !== undefined) {
      const list = into.get(layer.route) ?? []
      const template = join(prefix, layer.route.path)
      if (!list.some((entry) => entry.template === template)) {
        const atRoot = prefix === '' || prefix === '/'
        const prefixHasParams = /[:*]/.test(prefix)
        list.push({
          template,
          test: atRoot ? (base) => base === '' || base === '/' : createTemplateMatcher(prefix),
          params: prefixHasParams ? createTemplateMatcher(template).params : undefined,
        })
        into.set(layer.route, list)
      }
    } else if (Array.isArray(layer.handle?.stack)) {
      const mounts = Array.isArray(layer.rawPath) ? layer.rawPath : [layer.rawPath]
      for (const mount of mounts) {
        if (typeof mount === 'string') walk(layer.handle.stack, join(prefix, mount), into)
      }
    }
  }
}

/** The route's parameters, with those of its mount prefix (Express keeps only its own without mergeParams). */
function paramsOf(
  placement: Placement | undefined,
  req: Request,
): Record<string, string | string[]> {
  const own = (req.params ?? {}) as Record<string, string | string[]>
  if (placement?.params === undefined) return own
  const path = req.originalUrl.split('?', 1)[0] ?? ''
  return { ...placement.params(path), ...own }
}
