import type { NextFunction, Request, RequestHandler, Response } from 'express'
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
  type ScopeguardRequest,
} from '@scopeguard/core'
import { judgeAtRouteLayer, judgedTemplate } from './route-layer.js'

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The verified caller, set by the `scopeguard()` middleware (undefined for anonymous requests with `optional`). */
      auth?: AuthInfo
    }
  }
}

/**
 * The middleware returned by {@link scopeguard}, with the guard's controls: `stats()`,
 * `policy()`, `reloadPolicy()`, `inventory()`, `auditStats()`, `flush()`, `close()`.
 */
export interface ScopeguardMiddleware extends RequestHandler, GuardControls {
  /** The framework-free engine behind the middleware. */
  readonly guard: Guard
}

const guards = new WeakMap<Request, Guard>()

/**
 * Creates the Express middleware that authenticates every request: it extracts the bearer
 * token (RFC 6750), verifies it, sets `req.auth` and calls `next()`; otherwise it answers
 * 400/401/503 itself with the right `WWW-Authenticate` header. Options are checked at once
 * (a mistake throws); discovery and keys are fetched on first use, never blocking start-up.
 *
 * @example
 * app.use(scopeguard({ issuer: 'https://auth.example.com', audience: 'https://api.example.com' }))
 * app.get('/items', requireScopes('read:items'), listItems)
 */
export function scopeguard(options: ScopeguardOptions): ScopeguardMiddleware {
  const guard = createGuard(options)
  const judge = { guard, send }
  const middleware = async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const decision = await guard.authenticate(toRequest(req))
    if (!decision.allowed) return void send(res, decision)
    req.auth = decision.auth
    guards.set(req, guard)
    if (guard.hasPolicy && !judgeAtRouteLayer(req, res, judge)) return
    next()
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
 * app.delete('/items/:id', requireScopes('delete:items or admin'), removeItem)
 */
export function requireScopes(requirement: RequirementInput): RequestHandler {
  const compiled = compileRequirement(requirement)
  return (req, res, next) => {
    const guard = guards.get(req)
    if (guard === undefined) {
      return next(
        new ScopeguardConfigError(
          'requireScopes() ran without the scopeguard() middleware before it: add app.use(scopeguard(options)) first',
        ),
      )
    }
    const decision = guard.authorize(req.auth, compiled, {
      method: req.method,
      path: req.path,
      route: judgedTemplate(req),
    })
    if (decision.allowed) return next()
    send(res, decision)
  }
}

function toRequest(req: Request): ScopeguardRequest {
  const url = req.originalUrl
  const q = url.indexOf('?')
  return {
    method: req.method,
    path: q === -1 ? url : url.slice(0, q),
    headers: req.headers,
    rawHeaders: req.rawHeaders,
    query: q === -1 ? '' : url.slice(q + 1),
    body: req.body as unknown,
  }
}

function send(res: Response, decision: Exclude<Decision, { allowed: true }>): void {
  res.status(decision.status).set(decision.headers).end()
}
