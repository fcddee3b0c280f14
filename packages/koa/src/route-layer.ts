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
}

const ENFORCER = Symbol.for('scopeguard.routeEnforcer')
/** Per app: its routers as of how many middleware, and how many layers were last instrumented. */
const seen = new WeakMap<Koa, { middleware: number; layers: number; routers: RouterLike[] }>()
/** Per request: the guard whose policy judges the routers that dispatch it. */
const TRAP = Symbol('scopeguard.routerTrap')
const ROUTER = Symbol('scopeguard.router')
interface TrappedContext extends Context {
  [TRAP]?: {
    guard: Guard
    send: (ctx: Context, decision: Exclude<Decision, { allowed: true }>) => void
  }
  [ROUTER]?: unknown
}
/** Per router: how many layers were last instrumented. */
const instrumented = new WeakMap<RouterLike, number>()

/**
 * Makes sure every route layer of the app's @koa/router routers starts with scopeguard's
 * enforcement, so that the rule applied is always the rule of the route whose handlers are
 * about to run, with its full template (router prefixes included, as @koa/router keeps them
 * in `layer.path`). Routers mounted with `app.use(router.routes())` are instrumented from the
 * guard middleware; any other router (composed, mounted through another middleware) is
 * instrumented the moment it dispatches: @koa/router assigns `ctx.router` after matching and
 * before it builds the chain of matched layers, and the guard traps that assignment.
 */
export function instrumentRouters(
  ctx: Context,
  guard: Guard,
  send: (ctx: Context, decision: Exclude<Decision, { allowed: true }>) => void,
): void {
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
    for (const router of known.routers) instrumentRouter(router, guard, send)
    known.layers = layers
  }
  ;(ctx as TrappedContext)[TRAP] = { guard, send }
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
        instrumentRouter(router as RouterLike, trap.guard, trap.send)
    },
  })
}

function instrumentRouter(
  router: RouterLike,
  guard: Guard,
  send: (ctx: Context, decision: Exclude<Decision, { allowed: true }>) => void,
): void {
  if (instrumented.get(router) === router.stack.length) return
  for (const layer of router.stack) {
    if (
      layer.methods.length === 0 ||
      (layer.stack[0] as { [ENFORCER]?: true } | undefined)?.[ENFORCER]
    )
      continue
    layer.stack.unshift(enforcer(layer, guard, send))
  }
  instrumented.set(router, router.stack.length)
}

function enforcer(
  layer: LayerLike,
  guard: Guard,
  send: (ctx: Context, decision: Exclude<Decision, { allowed: true }>) => void,
): Middleware {
  // A RegExp route has no template a policy can name: it is judged as unmapped (denied).
  const template = typeof layer.path === 'string' ? layer.path : `<regexp> ${String(layer.path)}`
  const handlesGet = layer.methods.includes('GET')
  const enforce = (ctx: Context, next: Next): Promise<void> | void => {
    const method = ctx.method === 'HEAD' && handlesGet ? 'GET' : ctx.method
    const decision = guard.judgeRoute(
      ctx.state.auth as AuthInfo | undefined,
      {
        method,
        template,
        params: (ctx as Context & { params?: Record<string, string> }).params ?? {},
      },
      { method: ctx.method, path: ctx.path },
    )
    if (!decision.allowed) return send(ctx, decision)
    return next()
  }
  return Object.assign(enforce, { [ENFORCER]: true as const })
}
