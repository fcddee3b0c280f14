import { IncomingMessage } from 'node:http'
import type { Application, Request } from 'express'
import type { AuthInfo, Guard } from '@scopeguard/core'
import { prototypeHook } from './express-prototype.js'
import type { Pending, RouteJudge } from './route-layer.js'

/**
 * What scopeguard keeps about a request while it is handled. It is held in a WeakMap, not on
 * the request: a request object carries many properties already, and each one added to it
 * copies its whole property storage (about 1.3 KB per request and property, measured), which
 * a WeakMap entry does not.
 */
export interface RequestState {
  /** The guard that authenticated the request (for `requireScopes`). */
  readonly guard: Guard
  /** The verified caller, which `req.auth` reads (undefined for anonymous requests). */
  readonly auth: AuthInfo | undefined
  /**
   * True when `req.auth` is a plain property the guard assigned (something else holds `auth`
   * on Express's request prototype, or the request's prototype is not Express's); false when
   * `req.auth` reads this state through scopeguard's accessor, unless the app assigned it.
   */
  readonly assigned: boolean
  /** Set when the request is judged at the route layer (a policy guard). */
  judge: RouteJudge | undefined
  /** The app the guard is installed on: routes are placed from its router. */
  app: Application | undefined
  /** The template of the route that judged the request. */
  template: string | undefined
  /** The judgment waiting for the response to start, when no route judged the request yet. */
  pending: Pending | undefined
}

const states = new WeakMap<object, RequestState>()

/** The state the guard middleware left on a request, if it ran. */
export const stateOf = (req: object): RequestState | undefined => states.get(req)

/**
 * Records that `guard` authenticated the request as `auth`, and makes `req.auth` answer it.
 * Returns the request's state.
 */
export function guardRequest(req: Request, guard: Guard, auth: AuthInfo | undefined): RequestState {
  // `req.auth` is read through the accessor on Express's request prototype, unless the
  // request has an `auth` of its own (set by the app or another library, or a request whose
  // prototype is not Express's): that one is replaced, as an assignment always did.
  const assigned = !readsAuthFromState(req)
  const state: RequestState = {
    guard,
    auth,
    assigned,
    judge: undefined,
    app: undefined,
    template: undefined,
    pending: undefined,
  }
  states.set(req, state)
  if (assigned || Object.hasOwn(req, 'auth')) req.auth = auth
  return state
}

/**
 * What `req.auth` holds for a request the guard authenticated: the state's caller, read
 * without going through the accessor, unless the request has an `auth` of its own (an app
 * may replace it, and what it holds is what the request is judged by). The same value as
 * reading `req.auth`, at a fraction of the cost: an Express request object has a hidden class
 * of its own (Express sets its prototype, then adds properties), so every property read on it
 * is a lookup, and an accessor on its prototype chain costs most.
 */
export const authOf = (req: Request, state: RequestState): AuthInfo | undefined =>
  state.assigned || Object.hasOwn(req, 'auth') ? req.auth : state.auth

/**
 * Whether `req.auth` reads the request's state: true once `auth` is an accessor on Express's
 * request prototype, which is defined there the first time (unless something else defined an
 * `auth` there: that one is left alone). The accessor reads the state of the guard that
 * authenticated the request; assigning `req.auth` (an app, express-jwt) gives the request an
 * `auth` of its own, as a plain property would.
 */
const readsAuthFromState = prototypeHook(IncomingMessage.prototype, (proto) => {
  if (Object.hasOwn(proto, 'auth')) return false
  defineAuth(proto)
  return true
})

function defineAuth(proto: object): void {
  Object.defineProperty(proto, 'auth', {
    configurable: true,
    enumerable: false,
    get(this: object): AuthInfo | undefined {
      return states.get(this)?.auth
    },
    set(this: object, value: unknown) {
      Object.defineProperty(this, 'auth', {
        value,
        writable: true,
        enumerable: true,
        configurable: true,
      })
    },
  })
}

/** The path of the URL the client asked for, mount prefixes included, without the query. */
export function pathOf(req: Request): string {
  const url = req.originalUrl
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q)
}
