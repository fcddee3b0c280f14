/**
 * The framework-free shape of an HTTP request that core works on. Adapters map
 * `req` / `ctx` to it; core never sees a framework object.
 */
export interface ScopeguardRequest {
  /** Upper-case HTTP method. */
  readonly method: string
  /** The request path (without the query), for decision records. */
  readonly path?: string
  /** Header values as Node parses them (lower-case names). */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>
  /**
   * Raw header list as received (`[name, value, name, value, …]`). Node keeps only the first
   * `Authorization` header in `headers`; the raw list lets core see a second one.
   */
  readonly rawHeaders?: readonly string[]
  /** The query string without the leading `?`, when query tokens are enabled. */
  readonly query?: string
  /** The parsed `application/x-www-form-urlencoded` body, when form tokens are enabled. */
  readonly body?: unknown
  /**
   * The absolute URL of the request as the app sees it (`https://api.example.com/items`),
   * for the `htu` check of DPoP proofs (RFC 9449 §4.3), read only when a proof is checked.
   * Adapters compute it when it is read (a getter), from the framework's protocol and host,
   * which honour its own proxy trust setting (Express `trust proxy`, Koa `app.proxy`). Query
   * and fragment are ignored.
   */
  readonly url?: string
  /**
   * The client certificate of the TLS connection (DER), read lazily, when the guard accepts
   * certificate-bound tokens from the connection (`guard.wantsPeerCertificate`).
   */
  readonly clientCertificate?: () => Uint8Array | undefined
}
