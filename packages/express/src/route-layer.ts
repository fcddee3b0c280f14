import { ServerResponse } from 'node:http'
import type { Application, Request, Response } from 'express'
import { createTemplateMatcher, type Decision, type Guard } from '@scopeguard/core'
import { prototypeHook } from './express-prototype.js'
import { join } from './list-routes.js'
import { authOf, pathOf, stateOf, type RequestState } from './request-state.js'

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
export function judgeAtRouteLayer(
  req: Request,
  res: Response,
  judge: RouteJudge,
  state: RequestState,
): boolean {
  // The app the guard is installed on: routes are placed from its router, also when they
  // run inside a sub-app (where `req.app` is the sub-app).
  state.judge = judge
  state.app = req.app
  const router = (req.app as Application & { router?: RouterLike }).router
  if (router !== undefined) patchDispatch(router)
  // Policy templates name full paths, mount prefixes included.
  const path = req.baseUrl + req.path
  const taken = router === undefined ? 'none' : takenFromMemo(router, appPath(req))
  if (taken === 'none') return judgeNow(req, res, judge, path, state)
  // A path the router cannot decode ends in its error handling, where no route or plain
  // middleware runs: what answers there is not a decision to record, only one to enforce.
  judgeWhenAnswered(req, res, judge, path, taken === 'route', state)
  return true
}

/**
 * Judges a request whose path no visible route matches. A denial is answered and recorded
 * now; an allowed request goes on, and its decision is recorded when it is answered, unless a
 * route (of a sub-app, which the walk cannot see into) judged it meanwhile.
 */
function judgeNow(
  req: Request,
  res: Response,
  judge: RouteJudge,
  path: string,
  state: RequestState,
): boolean {
  const judgment = judge.guard.judgeUnrouted(req.auth, { method: req.method, path })
  if (!judgment.decision.allowed) {
    judgment.record()
    judge.send(res, judgment.decision)
    return false
  }
  patchWriteHead(res)
  const pending: Pending = { req, judge, path, recordAllowed: false, judgment }
  state.pending = pending
  // A response that never starts (the client went away) is recorded when it closes.
  res.once('close', () => settle(state, pending))
  return true
}

/**
 * For a request a route may take: when its response starts without any route having judged
 * it, it is judged by the policy then. A denial replaces the response: its status and headers
 * are the denial's and the body is dropped — the handler has run, but what it answered never
 * leaves.
 */
function judgeWhenAnswered(
  req: Request,
  res: Response,
  judge: RouteJudge,
  path: string,
  recordAllowed: boolean,
  state: RequestState,
): void {
  patchWriteHead(res)
  state.pending = { req, judge, path, recordAllowed, judgment: undefined }
}

/** What the response hook does when a request's response starts. */
export interface Pending {
  readonly req: Request
  readonly judge: RouteJudge
  /** The full path the request is judged by, mount prefixes included. */
  readonly path: string
  /** Whether an allowed judgment made at response start is recorded. */
  readonly recordAllowed: boolean
  /** A judgment already made (the request was judged before any handler ran): only recorded. */
  readonly judgment: UnroutedJudgment | undefined
}
type UnroutedJudgment = ReturnType<Guard['judgeUnrouted']>
type WriteHead = (this: Response, ...args: unknown[]) => Response

/**
 * Settles a request no route judged, once: records a judgment made before, or judges it now.
 * Returns the denial that must replace the response, if any.
 */
function settle(
  state: RequestState,
  pending: Pending,
): Exclude<Decision, { allowed: true }> | undefined {
  if (state.pending !== pending) return undefined
  state.pending = undefined
  const { req, judge, path, recordAllowed, judgment } = pending
  if (state.template !== undefined) return undefined
  if (judgment !== undefined) {
    judgment.record()
    return undefined
  }
  const late = judge.guard.judgeUnrouted(req.auth, { method: req.method, path })
  if (recordAllowed || !late.decision.allowed) late.record()
  return late.decision.allowed ? undefined : late.decision
}

/**
 * Hooks `writeHead` once on Express's response prototype: every response starts there —
 * Node's `write` and `end` call it (`_implicitHeader`) when no header was written yet, and
 * wrappers that other middleware put on a response (on-headers, compression) reach it in
 * turn. A response with a request pending judgment is settled there; any other response goes
 * through untouched. Hooking the prototype once, rather than wrapping every response, keeps
 * responses the same shape and costs nothing per request. A response whose prototype chain
 * is not Express's is hooked by itself.
 */
function patchWriteHead(res: Response): void {
  if (!responsesHooked(res)) hookWriteHead(res, res.writeHead as WriteHead)
}

const responsesHooked = prototypeHook(ServerResponse.prototype, (proto) => {
  // What the prototype answers now (Node's, or a hook someone else put there) runs next.
  hookWriteHead(proto, (proto as { writeHead: WriteHead }).writeHead)
  return true
})

function hookWriteHead(target: object, next: WriteHead): void {
  Object.defineProperty(target, 'writeHead', {
    configurable: true,
    writable: true,
    value: function writeHead(this: Response, ...args: unknown[]): Response {
      // Node's ServerResponse and Express's response both hold their request as `req`.
      const state = this.req === undefined ? undefined : stateOf(this.req)
      const pending = state?.pending
      const denial = pending === undefined ? undefined : settle(state as RequestState, pending)
      if (denial === undefined) return next.apply(this, args)
      return refuse(this, denial, next)
    },
  })
}

/**
 * Writes the denial's status and headers instead of the handler's, and makes Node drop the
 * body the handler writes (as it does for HEAD, 204 and 304 responses).
 */
function refuse(
  res: Response,
  decision: Exclude<Decision, { allowed: true }>,
  writeHead: WriteHead,
): Response {
  for (const name of res.getHeaderNames()) res.removeHeader(name)
  for (const [name, value] of Object.entries(decision.headers)) res.setHeader(name, value)
  // An explicit length: with the body dropped, a response without one would be read until
  // the connection closes.
  res.setHeader('content-length', '0')
  res.statusCode = decision.status
  ;(res as Response & { _hasBody: boolean })._hasBody = false
  return writeHead.call(res, decision.status)
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
  proto.dispatch = function dispatch(req: Request, res, done) {
    const state = stateOf(req)
    const found = state?.judge
    // The router also offers a route to a request it has no handler for (HEAD on a route
    // with neither GET nor HEAD): nothing runs there, so there is nothing to judge.
    const method = req.method
    if (found === undefined || !this._handlesMethod(method))
      return original.call(this, req, res, done)
    const placement = placementOf(state?.app ?? req.app, req.app, this, req.baseUrl)
    const template = placement?.template ?? `<unplaced> ${this.path}`
    ;(state as RequestState).template = template
    const decision = found.guard.judgeRoute(
      authOf(req, state as RequestState),
      { method: dispatchedMethod(this, method), template, params: paramsOf(placement, req) },
      // The path the client asked for, mount prefixes included, as in the guard's own decisions.
      { method, path: pathOf(req) },
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

type Taken = 'route' | 'none' | 'error'
/** Paths remembered per router; past this many the memo starts over (paths come from clients). */
const MEMO_PATHS = 1024
const takenMemo = new WeakMap<RouterLike, { layers: number; paths: Map<string, Taken> }>()

/**
 * {@link takenByRoute} for the app's router, remembered per path: the walk matches the path
 * against every layer, and most requests go to a few paths. The memo starts over when the
 * router gains or loses a layer. A route added later to a nested router can leave a path
 * remembered as taken by no route: such a request is then judged by the policy before its
 * handlers run, and by its route's rule when the route dispatches it — judged twice, never
 * less.
 */
function takenFromMemo(router: RouterLike, path: string | undefined): Taken {
  if (path === undefined) return 'none'
  let memo = takenMemo.get(router)
  if (memo === undefined || memo.layers !== router.stack.length) {
    memo = { layers: router.stack.length, paths: new Map() }
    takenMemo.set(router, memo)
  }
  let taken = memo.paths.get(path)
  if (taken === undefined) {
    taken = takenByRoute(router.stack, path)
    if (memo.paths.size >= MEMO_PATHS) memo.paths.clear()
    memo.paths.set(path, taken)
  }
  return taken
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
function takenByRoute(stack: readonly LayerLike[], path: string | undefined): Taken {
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
