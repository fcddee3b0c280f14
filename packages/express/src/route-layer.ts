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
  match(path: string): { path: string } | false
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
 *
 * A request that no route judges is judged by the policy (`guard.judgeUnrouted`): at once,
 * before any handler runs, when no route of the app matches its path (whatever the method:
 * middleware after the guard may still override it), so that middleware mounted outside the
 * routers, static files and unknown paths are decided here; otherwise when its response
 * starts, if no route judged it by then (middleware answering a path a route also serves,
 * a method no route of the path serves). Returns false when the request was answered here.
 */
export function judgeAtRouteLayer(req: Request, res: Response, judge: RouteJudge): boolean {
  // The app the guard is installed on: routes are placed from its router, also when they
  // run inside a sub-app (where `req.app` is the sub-app).
  ;(req as JudgedRequest)[JUDGE] = judge
  ;(req as JudgedRequest)[JUDGE_APP] = req.app
  const router = (req.app as Application & { router?: RouterLike }).router
  if (router !== undefined) patchDispatch(router)
  // Policy templates name full paths, mount prefixes included.
  const path = req.baseUrl + req.path
  const taken = router === undefined ? 'none' : takenByRoute(router.stack, appPath(req))
  if (taken === 'none') return judgeNow(req, res, judge, path)
  // A path the router cannot decode ends in its error handling, where no route or plain
  // middleware runs: what answers there is not a decision to record, only one to enforce.
  judgeWhenAnswered(req, res, judge, path, taken === 'route')
  return true
}

/**
 * Judges a request whose path no visible route matches. A denial is answered and recorded
 * now; an allowed request goes on, and its decision is recorded when it is answered, unless a
 * route (of a sub-app, which the walk cannot see into) judged it meanwhile.
 */
function judgeNow(req: Request, res: Response, judge: RouteJudge, path: string): boolean {
  const judgment = judge.guard.judgeUnrouted(req.auth, { method: req.method, path })
  if (!judgment.decision.allowed) {
    judgment.record()
    judge.send(res, judgment.decision)
    return false
  }
  const settle = (): void => {
    if ((req as JudgedRequest)[JUDGED_TEMPLATE] === undefined) judgment.record()
  }
  onResponseStart(res, () => {
    settle()
    return undefined
  })
  res.once('close', settle)
  return true
}

/**
 * For a request a route may take: when its response starts without any route having judged
 * it, judges it by the policy then. A denial replaces the response: its status and headers
 * are the denial's and the body is dropped — the handler has run, but what it answered never
 * leaves.
 */
function judgeWhenAnswered(
  req: Request,
  res: Response,
  judge: RouteJudge,
  path: string,
  recordAllowed: boolean,
): void {
  onResponseStart(res, (original) => {
    if ((req as JudgedRequest)[JUDGED_TEMPLATE] !== undefined) return undefined
    const judgment = judge.guard.judgeUnrouted(req.auth, { method: req.method, path })
    if (recordAllowed || !judgment.decision.allowed) judgment.record()
    return judgment.decision.allowed ? undefined : refusal(res, judgment.decision, original)
  })
}

type Writers = Pick<Response, 'writeHead' | 'write' | 'end'>
const WRITERS = ['writeHead', 'write', 'end'] as const

/**
 * Calls `start` once, when the response starts (its first `writeHead`, `write` or `end`),
 * before anything is written; `start` may return writers to use instead from then on. Where
 * other middleware wrapped these methods after this, their wrappers stay in place and reach
 * the writers through this one.
 */
function onResponseStart(res: Response, start: (original: Writers) => Writers | undefined): void {
  const original: Writers = { writeHead: res.writeHead, write: res.write, end: res.end }
  let writers: Writers | undefined
  const begin = (): Writers => {
    if (writers === undefined) {
      writers = start(original) ?? original
      for (const name of WRITERS) {
        if (res[name] === wrappers[name]) (res as Writers)[name] = writers[name] as never
      }
    }
    return writers
  }
  const wrappers: Writers = {
    writeHead: function (this: Response, ...args: unknown[]) {
      return (begin().writeHead as (...args: unknown[]) => Response).apply(this, args)
    } as Response['writeHead'],
    write: function (this: Response, ...args: unknown[]) {
      return (begin().write as (...args: unknown[]) => boolean).apply(this, args)
    } as Response['write'],
    end: function (this: Response, ...args: unknown[]) {
      return (begin().end as (...args: unknown[]) => Response).apply(this, args)
    } as Response['end'],
  }
  Object.assign(res, wrappers)
}

/** Writers that send the denial's status and headers instead, and no body whatever is written. */
function refusal(
  res: Response,
  decision: Exclude<Decision, { allowed: true }>,
  original: Writers,
): Writers {
  for (const name of res.getHeaderNames()) res.removeHeader(name)
  for (const [name, value] of Object.entries(decision.headers)) res.setHeader(name, value)
  res.statusCode = decision.status
  const callbackOf = (args: unknown[]) =>
    args.find((arg): arg is () => void => typeof arg === 'function')
  return {
    writeHead: function (this: Response) {
      return original.writeHead.call(this, decision.status)
    } as Response['writeHead'],
    write: function (this: Response, ...args: unknown[]) {
      const callback = callbackOf(args)
      if (callback !== undefined) process.nextTick(callback)
      return true
    } as Response['write'],
    end: function (this: Response, ...args: unknown[]) {
      return (original.end as (this: Response, callback?: () => void) => Response).call(
        this,
        callbackOf(args),
      )
    } as Response['end'],
  }
}

function patchDispatch(router: RouterLike): void {
  // Once per router class (the `router` package an app uses): finding Route.prototype
  // builds a scratch route, too costly to repeat on every request.
  const routerClass = Object.getPrototypeOf(router) as object
  if (patched.has(routerClass)) return
  patched.add(routerClass)
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

/**
 * The request's path from the root of the guard's app, as its router matches it: the mount
 * prefixes the router took off so far and the rest of the (possibly rewritten) URL. In a
 * sub-app, `req.baseUrl` starts with the sub-app's own mount path, so the walk starts at the
 * rest (a guard installed at the sub-app's root, the usual place).
 */
function appPath(req: Request): string | undefined {
  const rest = req.path as string | undefined
  if (rest === undefined) return undefined
  const nested = (req.app as Application & { parent?: unknown }).parent !== undefined
  return nested || req.baseUrl === '' ? rest : req.baseUrl + rest
}

/**
 * Whether a route of this stack (nested routers included) matches the path, whatever its
 * methods, matched as the router matches it: each layer's own matcher, the mount prefix taken
 * off for a nested router. Middleware is passed over; a mounted sub-app cannot be seen into,
 * so its routes do not count (the request is judged by the policy now, and again by the
 * route's rule if a sub-app route dispatches it). `error` when a layer cannot decode the path:
 * the router then goes on with error handlers only (plain middleware matched before that layer
 * has run already).
 */
function takenByRoute(
  stack: readonly LayerLike[],
  path: string | undefined,
): 'route' | 'none' | 'error' {
  if (path === undefined) return 'none'
  for (const layer of stack) {
    let match: { path: string } | false
    try {
      match = layer.match(path)
    } catch {
      return 'error'
    }
    if (match === false) continue
    if (layer.route !== undefined) return 'route'
    if (Array.isArray(layer.handle?.stack)) {
      const inner = takenByRoute(layer.handle.stack, trimPrefix(path, match.path))
      if (inner !== 'none') return inner
    }
  }
  return 'none'
}

/** The path a nested router sees below a mount prefix, as the router trims it; undefined if it would not enter. */
function trimPrefix(path: string, prefix: string): string | undefined {
  if (prefix.length === 0) return path
  if (!path.startsWith(prefix)) return undefined
  const next = path[prefix.length]
  if (next !== undefined && next !== '/') return undefined
  const rest = path.slice(prefix.length)
  return rest.startsWith('/') ? rest : `/${rest}`
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
