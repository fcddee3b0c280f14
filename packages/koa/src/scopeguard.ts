import type { Context, Middleware, Next } from 'koa'
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

/** The guard that authenticated a request, for `requireScopes` (a symbol property: cheaper than a WeakMap). */
const GUARD = Symbol('scopeguard.guard')
type GuardedContext = Context & { [GUARD]?: Guard }

/**
 * The request as core sees it, read from `ctx` only when core asks: Koa computes `path` and
 * `querystring` by parsing the URL, which the hot path of a cached token never needs.
 */
class KoaRequest implements ScopeguardRequest {
  readonly #ctx: Context
  /** The TLS client certificate (DER), read only when asked (`mtls`). */
  readonly clientCertificate: (() => Uint8Array | undefined) | undefined
  constructor(ctx: Context, withCertificate: boolean) {
    this.#ctx = ctx
    this.clientCertificate = withCertificate ? () => peerCertificate(ctx.req.socket) : undefined
  }
  get method(): string {
    return this.#ctx.method
  }
  get path(): string {
    return this.#ctx.path
  }
  get headers(): ScopeguardRequest['headers'] {
    return this.#ctx.req.headers
  }
  get rawHeaders(): readonly string[] {
    return this.#ctx.req.rawHeaders
  }
  get query(): string {
    return this.#ctx.querystring
  }
  get body(): unknown {
    return (this.#ctx.request as { body?: unknown }).body
  }
  /** Only for DPoP proofs (`htu`): `ctx.protocol` and `ctx.host` follow Koa's `app.proxy`. */
  get url(): string {
    return requestUrl(this.#ctx)
  }
}

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
  const metadata = guard.metadataEndpoint
  const withCertificate = guard.wantsPeerCertificate
  // One for the guard: each request the policy judges points to it.
  const judge = { guard, send }
  const admit = (ctx: Context, next: Next, decision: Decision): Promise<void> | void => {
    if (!decision.allowed) return send(ctx, decision)
    if (decision.headers !== undefined) ctx.set(decision.headers)
    ctx.state.auth = decision.auth
    ;(ctx as GuardedContext)[GUARD] = guard
    if (!guard.hasPolicy) return next()
    const settle = judgeRequest(ctx, judge)
    if (settle === false) return
    return settle === undefined ? next() : next().then(settle)
  }
  // Not an async function: a reused token is answered from the cache synchronously, so the
  // hot path costs no extra promise or microtask.
  const middleware = (ctx: Context, next: Next): Promise<void> | void => {
    // RFC 9728: the metadata document is public, answered before any token is looked at.
    if (metadata !== undefined && metadata.paths.includes(ctx.path)) {
      // Koa sends no body for HEAD but keeps the GET body's length: give it the GET answer.
      const answer = metadata.respond(ctx.method === 'HEAD' ? 'GET' : ctx.method)
      ctx.status = answer.status
      ctx.set(answer.headers)
      ctx.body = answer.body
      return
    }
    const decision = guard.authenticate(new KoaRequest(ctx, withCertificate))
    return decision instanceof Promise
      ? decision.then((settled) => admit(ctx, next, settled))
      : admit(ctx, next, decision)
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
 * router.post('/transfers', requireAuthentication({ acr: ['phr'], maxAge: 300 }), requireScopes('write:transfers'), transfer)
 */
export function requireAuthentication(requirement: StepUpInput): Middleware {
  const compiled = compileStepUp(requirement)
  return routeCheck('requireAuthentication', (guard, auth, context) =>
    guard.judgeAuthentication(auth, compiled, context),
  )
}

/** A route middleware that judges the request with the guard of `scopeguard()` before it. */
function routeCheck(
  name: string,
  judge: (guard: Guard, auth: AuthInfo | undefined, context: DecisionContext) => Decision,
): Middleware {
  return (ctx, next) => {
    const guard = (ctx as GuardedContext)[GUARD]
    if (guard === undefined) {
      throw new ScopeguardConfigError(
        `${name}() ran without the scopeguard() middleware before it: add app.use(scopeguard(options)) first`,
      )
    }
    const decision = judge(guard, ctx.state.auth as AuthInfo | undefined, {
      method: ctx.method,
      path: ctx.path,
      route: (ctx as Context & { _matchedRoute?: string })._matchedRoute,
    })
    if (!decision.allowed) return send(ctx, decision)
    return next()
  }
}

function requestUrl(ctx: Context): string {
  const url = ctx.originalUrl
  const q = url.indexOf('?')
  return `${ctx.protocol}://${ctx.host}${q === -1 ? url : url.slice(0, q)}`
}

function send(ctx: Context, decision: Exclude<Decision, { allowed: true }>): void {
  ctx.status = decision.status
  ctx.set(decision.headers)
  ctx.body = ''
  ctx.remove('Content-Type') // an empty body, as the Express adapter sends
}
