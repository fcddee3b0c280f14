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
