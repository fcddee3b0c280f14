import type Koa from 'koa'
import type { Context, Middleware, Next } from 'koa'
import type { AuthInfo, Decision, Guard } from '@scopeguard/core'

/** The parts of @koa/router that route-layer enforcement reads. */
interface LayerLike {
  path: string | RegExp
  methods: string[]
  stack: Middleware[]
}
interface RouterLike {
  stack: LayerLike[]
  match?(path: string, method: string): { path: LayerLike[] }
  matchHost?(host: string): boolean
  host?: unknown
  opts?: { routerPath?: string }
}

const ENFORCER = Symbol.for('scopeguard.routeEnforcer')
/** Per app: its routers as of how many middleware, and how many layers were last instrumented. */
const seen = new WeakMap<Koa, { middleware: number; layers: number; routers: RouterLike[] }>()
/** A guard with a policy, and how its adapter answers a denial. One per guard. */
export interface RouteJudge {
  readonly guard: Guard
  readonly send: (ctx: Context, decision: Exclude<Decision, { allowed: true }>) => void
}
/** Per request: the guard whose policy judges the routers that dispatch it. */
const TRAP = Symbol('scopeguard.routerTrap')
const ROUTER = Symbol('scopeguard.router')
interface TrappedContext extends Context {
  [TRAP]?: RouteJudge
  [ROUTER]?: unknown
}
/** Per router: how many layers were last instrumented. */
const instrumented = new WeakMap<RouterLike, number>()
/** Set on a request a route layer judged (a symbol property: cheaper than a WeakSet). */
const JUDGED = Symbol('scopeguard.judged')
const judged = {
  add: (ctx: Context): void => {
    ;(ctx as Context & { [JUDGED]?: true })[JUDGED] = true
  },
  has: (ctx: Context): boolean => (ctx as Context & { [JUDGED]?: true })[JUDGED] === true,
}

/**
 * Judges a request with a policy: by the rule of every route layer that runs (see
 * {@link instrumentRouters}), and otherwise by the policy (`guard.judgeUnrouted`): at once,
 * before any handler runs, when no route of the app's @koa/router routers matches its path
 * (whatever the method: middleware after the guard may still override it), so that plain
 * middleware, static files and unknown paths are decided here; otherwise once the middleware
 * chain has returned, if no route judged it (middleware answering a path a route also serves,
 * a method no route of the path serves): a denial then replaces the response, which has not
 * been sent yet. Returns false when the request is answered here, else what to call once the
 * rest of the chain has run.
 *
 * @example
 * const settle = judgeRequest(ctx, { guard, send })
 * if (settle === false) return
 * await next()
 * settle()
 */
export function judgeRequest(ctx: Context, judge: RouteJudge): false | (() => void) {
  const { guard, send } = judge
  const routers = instrumentRouters(ctx, judge)
  const auth = ctx.state.auth as AuthInfo | undefined
  const path = ctx.path
  if (takenByRoute(routers, ctx, path)) {
    return () => {
      if (judged.has(ctx)) return
      const judgment = guard.judgeUnrouted(auth, { method: ctx.method, path })
      judgment.record()
      if (judgment.decision.allowed || ctx.headerSent) return
      for (const name of ctx.res.getHeaderNames()) ctx.res.removeHeader(name)
      send(ctx, judgment.decision)
    }
  }
  // No visible route: judged now. An allowed request is recorded once answered, unless a
  // route of a router the guard cannot see (inside koa-compose, say) judged it meanwhile.
  const judgment = guard.judgeUnrouted(auth, { method: ctx.method, path })
  if (!judgment.decision.allowed) {
    judgment.record()
    send(ctx, judgment.decision)
    return false
  }
  return () => {
    if (!judged.has(ctx)) judgment.record()
  }
}

/** Whether a route of one of the routers matches the request's path (any method). */
function takenByRoute(routers: readonly RouterLike[], ctx: Context, path: string): boolean {
  // A loop, not `some`: no closure per request.
  for (const router of routers) if (pathTakenByRoute(router, ctx, path)) return true
  return false
}

/**
 * Whether a route of this router matches the request's path (any method), by the router's
 * own host and path matching. The match is handed on to the router's dispatch of the same
 * path and method (once: @koa/router keeps the result's arrays in `ctx.matched`), so that a
 * request the router dispatches is matched once, as without a policy.
 */
function pathTakenByRoute(router: RouterLike, ctx: Context, requestPath: string): boolean {
  if (router.match === undefined) return false
  // `ctx.host` is read only for a router restricted to hosts (reading it parses headers).
  if (router.host != null && router.matchHost !== undefined && !router.matchHost(ctx.host))
    return false
  // As @koa/router picks it: a configured routerPath unless empty, else the request's path.
  const configured = router.opts?.routerPath
  const path = configured === undefined || configured === '' ? requestPath : configured
  const method = ctx.method
  const result = router.match(path, method)
  handOn(router, { path, method, size: router.stack.length, result })
  for (const layer of result.path) if (layer.methods.length > 0) return true
  return false
}

interface HandedMatch {
  readonly path: string
  readonly method: string
  readonly size: number
  readonly result: { path: LayerLike[] }
}
/** On a router: the match left for its next `match` call (a symbol property: cheaper than a WeakMap). */
const HANDED = Symbol('scopeguard.handedMatch')
type HandingRouter = RouterLike & { [HANDED]?: HandedMatch | undefined }

/** Leaves a match for the router's next `match` call with the same path, method and routes. */
function handOn(router: HandingRouter, match: HandedMatch): void {
  if (!Object.hasOwn(router, 'match')) {
    const original = router.match as NonNullable<RouterLike['match']>
    router.match = function (this: HandingRouter, path: string, method: string) {
      const last = this[HANDED]
      this[HANDED] = undefined
      return last !== undefined &&
        last.path === path &&
        last.method === method &&
        last.size === this.stack.length
        ? last.result
        : original.call(this, path, method)
    }
  }
  router[HANDED] = match
}

/**
 * Makes sure every route layer of the app's @koa/router routers starts with scopeguard's
 * enforcement, so that the rule applied is always the rule of the route whose handlers are
 * about to run, with its full template (router prefixes included, as @koa/router keeps them
 * in `layer.path`). Routers mounted with `app.use(router.routes())` are instrumented from the
 * guard middleware; any other router (composed, mounted through another middleware) is
 * instrumented the moment it dispatches: @koa/router assigns `ctx.router` after matching and
 * before it builds the chain of matched layers, and the guard traps that assignment.
 */
export function instrumentRouters(ctx: Context, judge: RouteJudge): RouterLike[] {
  const app = ctx.app
  let known = seen.get(app)
  if (known === undefined || known.middleware !== app.middleware.length) {
    known = {
      middleware: app.middleware.length,
      layers: -1,
      routers: app.middleware
        .map((fn) => (fn as Middleware & { router?: RouterLike }).router)
        .filter((router): router is RouterLike => router !== undefined),
    }
    seen.set(app, known)
    trapRouterAssignment(app)
  }
  let layers = 0
  for (const router of known.routers) layers += router.stack.length
  if (known.layers !== layers) {
    for (const router of known.routers) instrumentRouter(router, judge)
    known.layers = layers
  }
  ;(ctx as TrappedContext)[TRAP] = judge
  return known.routers
}

/**
 * Traps `ctx.router = router` once per app, on its context prototype (defining a property
 * on every `ctx` would cost each request a slow object): a router that dispatches a request
 * a guard authenticated is instrumented before it runs its matched layers.
 */
function trapRouterAssignment(app: Koa): void {
  const proto = app.context as TrappedContext
  if (Object.hasOwn(proto, TRAP)) return
  Object.defineProperty(proto, TRAP, { value: undefined, writable: true })
  Object.defineProperty(proto, 'router', {
    configurable: true,
    enumerable: true,
    get(this: TrappedContext) {
      return this[ROUTER]
    },
    set(this: TrappedContext, router: unknown) {
      this[ROUTER] = router
      const trap = this[TRAP]
      if (trap !== undefined && Array.isArray((router as RouterLike | undefined)?.stack))
        instrumentRouter(router as RouterLike, trap)
    },
  })
}

function instrumentRouter(router: RouterLike, judge: RouteJudge): void {
  if (instrumented.get(router) === router.stack.length) return
  for (const layer of router.stack) {
    if (
      layer.methods.length === 0 ||
      (layer.stack[0] as { [ENFORCER]?: true } | undefined)?.[ENFORCER]
    )
      continue
    layer.stack.unshift(enforcer(layer, judge))
  }
  instrumented.set(router, router.stack.length)
}

function enforcer(layer: LayerLike, { guard, send }: RouteJudge): Middleware {
  // A RegExp route has no template a policy can name: it is judged as unmapped (denied).
  const template = typeof layer.path === 'string' ? layer.path : `<regexp> ${String(layer.path)}`
  const handlesGet = layer.methods.includes('GET')
  const enforce = (ctx: Context, next: Next): Promise<void> | void => {
    const requested = ctx.method
    judged.add(ctx)
    const decision = guard.judgeRoute(
      ctx.state.auth as AuthInfo | undefined,
      {
        method: requested === 'HEAD' && handlesGet ? 'GET' : requested,
        template,
        params: (ctx as Context & { params?: Record<string, string> }).params ?? {},
      },
      { method: requested, path: ctx.path },
    )
    if (!decision.allowed) return send(ctx, decision)
    return next()
  }
  return Object.assign(enforce, { [ENFORCER]: true as const })
}
