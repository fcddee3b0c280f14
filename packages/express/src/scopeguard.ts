import type { NextFunction, Request, RequestHandler, Response } from 'express'
import {
  compileRequirement,
  compileStepUp,
  createGuard,
  guardControls,
  peerCertificate,
  ScopeguardConfigError,
  type AuthInfo,
  type Decision,
  type DecisionContext,
  type Guard,
  type GuardControls,
  type RequirementInput,
  type ScopeguardOptions,
  type ScopeguardRequest,
  type StepUpInput,
} from '@scopeguard/core'
import { authOf, guardRequest, pathOf, stateOf } from './request-state.js'
import { judgeAtRouteLayer } from './route-layer.js'

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
  const metadata = guard.metadataEndpoint
  const withCertificate = guard.wantsPeerCertificate
  const admit = (req: Request, res: Response, next: NextFunction, decision: Decision): void => {
    if (!decision.allowed) return send(res, decision)
    if (decision.headers !== undefined) res.set(decision.headers)
    const state = guardRequest(req, guard, decision.auth)
    if (guard.hasPolicy && !judgeAtRouteLayer(req, res, judge, state)) return
    next()
  }
  // Not an async function: a reused token is answered from the cache synchronously, so the
  // hot path costs no promise and no microtask.
  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    const request = new ExpressRequest(req, withCertificate)
    // RFC 9728: the metadata document is public, answered before any token is looked at.
    if (metadata !== undefined && metadata.paths.includes(request.path)) {
      const answer = metadata.respond(req.method)
      return void res.status(answer.status).set(answer.headers).end(answer.body)
    }
    const decision = guard.authenticate(request)
    if (decision instanceof Promise) {
      decision.then((settled) => admit(req, res, next, settled)).catch(next)
    } else admit(req, res, next, decision)
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
  return routeCheck('requireScopes', (guard, auth, context) =>
    guard.authorize(auth, compiled, context),
  )
}

/**
 * Guards a route with a step-up requirement (RFC 9470): the token's `acr` must be one of
 * `acr`, and its `auth_time` at most `maxAge` seconds ago. Checked now, so a mistake throws at
 * start-up. A token that falls short gets 401 `insufficient_user_authentication` with
 * `acr_values` / `max_age`; an elevation grant never satisfies it. The policy file's `acr` and
 * `maxAge` rule members do the same for routes it maps.
 *
 * @example
 * app.post('/transfers', requireAuthentication({ acr: ['phr'], maxAge: 300 }), requireScopes('write:transfers'), transfer)
 */
export function requireAuthentication(requirement: StepUpInput): RequestHandler {
  const compiled = compileStepUp(requirement)
  return routeCheck('requireAuthentication', (guard, auth, context) =>
    guard.judgeAuthentication(auth, compiled, context),
  )
}

/** A route handler that judges the request with the guard of `scopeguard()` before it. */
function routeCheck(
  name: string,
  judge: (guard: Guard, auth: AuthInfo | undefined, context: DecisionContext) => Decision,
): RequestHandler {
  return (req, res, next) => {
    const state = stateOf(req)
    if (state === undefined) {
      return next(
        new ScopeguardConfigError(
          `${name}() ran without the scopeguard() middleware before it: add app.use(scopeguard(options)) first`,
        ),
      )
    }
    const decision = judge(state.guard, authOf(req, state), new RouteContext(req, state.template))
    if (decision.allowed) return next()
    send(res, decision)
  }
}

/**
 * The request as core sees it, read from `req` only when core asks. An Express request object
 * has a hidden class of its own (Express sets its prototype, then adds properties), so every
 * property read on it is a full lookup; the hot path of a cached token reads only the raw
 * headers.
 */
class ExpressRequest implements ScopeguardRequest {
  readonly #req: Request
  /** The TLS client certificate (DER), read only when asked (`mtls`). */
  readonly clientCertificate: (() => Uint8Array | undefined) | undefined
  constructor(req: Request, withCertificate: boolean) {
    this.#req = req
    this.clientCertificate = withCertificate ? () => peerCertificate(req.socket) : undefined
  }
  get method(): string {
    return this.#req.method
  }
  /** The path the client asked for, mount prefixes included. */
  get path(): string {
    return pathOf(this.#req)
  }
  get headers(): ScopeguardRequest['headers'] {
    return this.#req.headers
  }
  get rawHeaders(): readonly string[] {
    return this.#req.rawHeaders
  }
  get query(): string {
    const url = this.#req.originalUrl
    const q = url.indexOf('?')
    return q === -1 ? '' : url.slice(q + 1)
  }
  get body(): unknown {
    return this.#req.body as unknown
  }
  /** Only for DPoP proofs (`htu`): `req.protocol` and `req.host` follow Express's `trust proxy`. */
  get url(): string {
    const req = this.#req
    return `${req.protocol}://${req.host}${pathOf(req)}`
  }
}

/**
 * The context of a `requireScopes` / `requireAuthentication` decision, read from `req` only
 * when the decision is recorded: a guard with no sink and no listener never reads it.
 */
class RouteContext implements DecisionContext {
  readonly #req: Request
  readonly route: string | undefined
  constructor(req: Request, route: string | undefined) {
    this.#req = req
    this.route = route
  }
  get method(): string {
    return this.#req.method
  }
  /** The request path, mount prefixes included (as in the guard's own decisions). */
  get path(): string {
    return pathOf(this.#req)
  }
}

function send(res: Response, decision: Exclude<Decision, { allowed: true }>): void {
  res.status(decision.status).set(decision.headers).end()
}
