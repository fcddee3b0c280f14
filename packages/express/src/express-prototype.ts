/**
 * Express's own prototype on a request's or response's chain: the object just below Node's
 * `base` prototype (`IncomingMessage.prototype` or `ServerResponse.prototype`), under the
 * app's own `request` / `response`. Every app of one Express copy shares it, sub-apps
 * included, so a hook put there once reaches all their requests. Undefined when nothing of
 * Express sits between the object and `base`.
 *
 * @example
 * expressPrototype(res, ServerResponse.prototype) // => Express's response prototype
 */
export function expressPrototype(object: object, base: object): object | undefined {
  const own = Object.getPrototypeOf(object) as object | null
  let below = own
  while (below !== null) {
    const above = Object.getPrototypeOf(below) as object | null
    if (above === base) return below === own ? undefined : below
    below = above
  }
  return undefined
}

/**
 * A hook put once on Express's prototype under `base`, for every object inheriting from it:
 * the returned function installs it the first time (`install` may decline, for instance when
 * something else holds the member) and answers whether the object's chain now has it. It
 * remembers each app's own prototype, so a request or response costs one WeakSet lookup.
 *
 * @example
 * const withHook = prototypeHook(ServerResponse.prototype, (proto) => { patch(proto); return true })
 * if (!withHook(res)) patch(res)
 */
export function prototypeHook(
  base: object,
  install: (proto: object) => boolean,
): (object: object) => boolean {
  const hooked = new WeakSet<object>()
  const declined = new WeakSet<object>()
  const covered = new WeakSet<object>()
  return (object) => {
    const own = Object.getPrototypeOf(object) as object | null
    if (own === null) return false
    if (covered.has(own)) return true
    const proto = expressPrototype(object, base)
    if (proto === undefined || declined.has(proto)) return false
    if (!hooked.has(proto)) {
      if (!install(proto)) {
        declined.add(proto)
        return false
      }
      hooked.add(proto)
    }
    covered.add(own)
    return true
  }
}
