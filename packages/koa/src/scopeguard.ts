import type { Context, Middleware, Next } from 'koa'
import {
  compileRequirement,
  createGuard,
  guardControls,
  ScopeguardConfigError,
  type AuthInfo,
  type Decision,
  type Guard,
  type GuardControls,
  type RequirementInput,
  type ScopeguardOptions,
} from '@scopeguard/core'
import { judgeRequest } from './route-layer.js'

declare module 'koa' {
  interface DefaultState {
    /** The verified caller, set by the `scopeguard()` middleware (undefined for anonymous requests with `optional`). */
    auth?: AuthInfo
  }
}

/**
 * The middleware returned by {@link scopeguard}, with the guard's controls: `stats()`,
 * `policy()`, `reloadPolicy()`, `inventory()`, `auditStats()`, `flush()`, `close()`.
 */
export interface ScopeguardMiddleware extends Middleware, GuardControls {
  /** The framework-free engine behind the middleware. */
  readonly guard: Guard
}

const guards = new WeakMap<Context, Guard>()

/**
 * Creates the Koa middleware that authenticates every request: it extracts the bearer token
 * (RFC 6750), verifies it, sets `ctx.state.auth` and awaits `next()`; otherwise it answers
 * 400/401/503 itself with the right `WWW-Authenticate` header. Options are checked at once
 * (a mistake throws); discovery and keys are fetched on first use, never blocking start-up.
 *
 * @example
 * app.use(scopeguard({ issuer: 'https://auth.example.com', audience: 'https://api.example.com' }))
 * router.get('/items', requireScopes('read:items'), listItems)
 */
export function scopeguard(options: ScopeguardOptions): ScopeguardMiddleware {
  const guard = createGuard(options)
  const middleware = async (ctx: Context, next: Next): Promise<void> => {
    const decision = await guard.authenticate({
      method: ctx.method,
      path: ctx.path,
      headers: ctx.headers,
      rawHeaders: ctx.req.rawHeaders,
      query: ctx.querystring,
      body: (ctx.request as { body?: unknown }).body,
    })
    if (!decision.allowed) return send(ctx, decision)
    ctx.state.auth = decision.auth
    guards.set(ctx, guard)
    const settle = guard.hasPolicy ? judgeRequest(ctx, guard, send) : undefined
    if (settle === false) return
    await next()
    settle?.()
  }
  return Object.assign(middleware, { guard, ...guardControls(guard) })
}

/**
 * Guards a route with a scope requirement: an expression with `and`, `or` and parentheses
 * (`'delete:items or admin'`), or an array meaning all-of. Compiled now, so a syntax error
 * throws at start-up. A caller without the scopes gets 403 `insufficient_scope` naming what
 * would satisfy the route; an anonymous caller (with `optional`) gets 401.
 *
 * @example
 * router.delete('/items/:id', requireScopes('delete:items or admin'), removeItem)
 */
export function requireScopes(requirement: RequirementInput): Middleware {
  const compiled = compileRequirement(requirement)
  return async (ctx, next) => {
    const guard = guards.get(ctx)
    if (guard === undefined) {
      throw new ScopeguardConfigError(
        'requireScopes() ran without the scopeguard() middleware before it: add app.use(scopeguard(options)) first',
      )
    }
    const decision = guard.authorize(ctx.state.auth as AuthInfo | undefined, compiled, {
      method: ctx.method,
      path: ctx.path,
      route: (ctx as Context & { _matchedRoute?: string })._matchedRoute,
    })
    if (!decision.allowed) return send(ctx, decision)
    await next()
  }
}

function send(ctx: Context, decision: Exclude<Decision, { allowed: true }>): void {
  ctx.status = decision.status
  ctx.set(decision.headers)
  ctx.body = ''
  ctx.remove('Content-Type') // an empty body, as the Express adapter sends
}
