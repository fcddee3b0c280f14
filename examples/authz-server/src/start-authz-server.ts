import { once } from 'node:events'
import { createServer, type RequestListener } from 'node:http'
import type { AddressInfo } from 'node:net'
import Provider from 'oidc-provider'
import { DEMO_CLIENTS, type DemoClient } from './clients.js'
import { obtainIdToken } from './id-token-flow.js'
import { generateSigningKeys, prepareSigningKeys, type SigningKeySet } from './keys.js'
import { requestClientCredentialsToken, revokeToken } from './oauth-client.js'
import { CLIENT_CERTIFICATE_HEADER, createProviderConfiguration } from './provider-configuration.js'
import { createRequestListener, type AuthzServerStats } from './request-listener.js'
import { ITEMS_API, LEGACY_API } from './resources.js'
import { ROUTES } from './routes.js'

const HOST = '127.0.0.1'

/** Options of `startAuthzServer`. */
export interface StartAuthzServerOptions {
  /** Port on 127.0.0.1; default 0, a free port. */
  port?: number
  /**
   * Private JWKS to sign with: at least one RS256 (RSA) and one ES256 (P-256) key. The FIRST
   * key of each algorithm signs, the others are only published: to rotate, put the new keys
   * first. Default: fresh keys from `generateSigningKeys()`.
   */
  keys?: SigningKeySet
  /** Access token lifetime in seconds; default 600. */
  accessTokenTtl?: number
}

/** Options of `AuthzServer.token`. */
export interface TokenOptions {
  /** Space-delimited scopes; default all the client's scopes. */
  scope?: string
  /** Resource indicator; default ITEMS_API (LEGACY_API for the legacy client). */
  resource?: string
  /**
   * The client certificate (PEM) of the token request, as a TLS-terminating proxy would
   * forward it: `mtls-reader` gets a token bound to it (`cnf["x5t#S256"]`, RFC 8705).
   */
  certificate?: string
}

/** A running local authorization server. */
export interface AuthzServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly issuer: string
  readonly port: number
  readonly jwksUri: string
  /** Live counters of the HTTP requests served. */
  readonly stats: Readonly<AuthzServerStats>
  /**
   * Client credentials grant over HTTP (`client_secret_basic`); returns the access token.
   * Throws `AuthzServerRequestError` with the server's error body on failure.
   */
  token(client: DemoClient, options?: TokenOptions): Promise<string>
  /** A real ID token for `DEMO_CLIENTS.webApp` (`aud: demo-web`, RS256), from the code flow. */
  idToken(): Promise<string>
  /** RFC 7009 revocation of a token by its client, over HTTP. */
  revoke(client: DemoClient, token: string): Promise<void>
  /** Closes the server and all its sockets: the port is free when this resolves. */
  stop(): Promise<void>
}

/**
 * Starts the local OAuth 2.0 / OpenID Connect authorization server (oidc-provider) on
 * 127.0.0.1, for the demo and the tests: real tokens over real HTTP. Development and tests
 * only; never production.
 *
 * @example
 * const server = await startAuthzServer()
 * const jwt = await server.token(DEMO_CLIENTS.reader) // RS256, aud ITEMS_API, scope read:items
 * await server.stop()
 */
export async function startAuthzServer(
  options: StartAuthzServerOptions = {},
): Promise<AuthzServer> {
  const accessTokenTtl = options.accessTokenTtl ?? 600
  if (!Number.isSafeInteger(accessTokenTtl) || accessTokenTtl <= 0) {
    throw new TypeError(
      'startAuthzServer: `accessTokenTtl` must be a positive whole number of seconds',
    )
  }
  const keys = await prepareSigningKeys(options.keys ?? (await generateSigningKeys()))

  let listener: RequestListener = (_req, res) => res.writeHead(503).end()
  const server = createServer((req, res) => listener(req, res))
  server.listen(options.port ?? 0, HOST)
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  const issuer = `http://${HOST}:${port}`

  let provider: Provider
  try {
    provider = new Provider(issuer, createProviderConfiguration({ issuer, keys, accessTokenTtl }))
  } catch (error) {
    server.close()
    throw error
  }
  provider.proxy = false
  const stats: AuthzServerStats = {
    jwksRequests: 0,
    introspectionRequests: 0,
    discoveryRequests: 0,
  }
  listener = createRequestListener(provider, stats)

  let stopping: Promise<void> | undefined
  return {
    issuer,
    port,
    jwksUri: `${issuer}${ROUTES.jwks}`,
    stats,
    token: (client, { scope, resource, certificate } = {}) =>
      requestClientCredentialsToken(
        issuer,
        client,
        scope ?? client.scopes.join(' '),
        resource ?? (client.clientId === DEMO_CLIENTS.legacy.clientId ? LEGACY_API : ITEMS_API),
        certificate === undefined
          ? {}
          : { [CLIENT_CERTIFICATE_HEADER]: encodeURIComponent(certificate) },
      ),
    idToken: () => obtainIdToken(issuer, DEMO_CLIENTS.webApp),
    revoke: (client, token) => revokeToken(issuer, client, token),
    stop: () => {
      stopping ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()))
        server.closeAllConnections()
      })
      return stopping
    },
  }
}
