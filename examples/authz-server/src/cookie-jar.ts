/**
 * The few cookies a headless user agent needs across the redirects of one authorization
 * flow: name to value, the latest wins, deleted when the server expires them. Paths and
 * domains are ignored, since the flow only talks to one server.
 */
export class CookieJar {
  readonly #cookies = new Map<string, string>()

  /** Stores the cookies of a response's `Set-Cookie` headers. */
  store(setCookieHeaders: readonly string[]): void {
    for (const header of setCookieHeaders) {
      const [pair = '', ...attributes] = header.split(';')
      const separator = pair.indexOf('=')
      if (separator <= 0) continue
      const name = pair.slice(0, separator).trim()
      const value = pair.slice(separator + 1).trim()
      if (value === '' || attributes.some(isExpiry)) this.#cookies.delete(name)
      else this.#cookies.set(name, value)
    }
  }

  /** The `Cookie` request header with every stored cookie. */
  header(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  }
}

function isExpiry(attribute: string): boolean {
  const [key = '', value = ''] = attribute.split('=').map((part) => part.trim())
  if (key.toLowerCase() === 'max-age') return Number(value) <= 0
  if (key.toLowerCase() === 'expires') return Date.parse(value) <= Date.now()
  return false
}
