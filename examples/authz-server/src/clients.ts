import type { ClientMetadata } from 'oidc-provider'
import { callbackUrl } from './routes.js'

/** A client registered at the local authorization server, with the scopes it may get. */
export interface DemoClient {
  clientId: string
  clientSecret: string
  scopes: readonly string[]
}

/** The demo clients, by role. */
export interface DemoClients {
  /** `reader`: read:items, RS256 JWTs. */
  readonly reader: DemoClient
  /** `writer`: read:items write:items, RS256 JWTs. */
  readonly writer: DemoClient
  /** `admin`: every demo scope, RS256 JWTs. */
  readonly admin: DemoClient
  /** `es-reader`: read:items, ES256 JWTs. */
  readonly esReader: DemoClient
  /** `legacy-client`: read:items write:items, opaque tokens for the legacy API. */
  readonly legacy: DemoClient
  /**
   * `mtls-reader`: read:items, RS256 JWTs bound to the client certificate of its token
   * request (RFC 8705 §3), given as `token(client, { certificate })`.
   */
  readonly mtlsReader: DemoClient
  /** `demo-web`: an OpenID Connect relying party (authorization code flow, ID tokens). */
  readonly webApp: DemoClient
}

function client(clientId: string, scopes: string[]): DemoClient {
  return Object.freeze({
    clientId,
    clientSecret: `${clientId}-secret`,
    scopes: Object.freeze(scopes),
  })
}

/** The demo clients. Their secrets are public: this server is for development and tests only. */
export const DEMO_CLIENTS: DemoClients = Object.freeze({
  reader: client('reader', ['read:items']),
  writer: client('writer', ['read:items', 'write:items']),
  admin: client('admin', ['read:items', 'write:items', 'delete:items', 'admin']),
  esReader: client('es-reader', ['read:items']),
  legacy: client('legacy-client', ['read:items', 'write:items']),
  mtlsReader: client('mtls-reader', ['read:items']),
  webApp: client('demo-web', ['openid']),
})

/** Credentials the items API uses for token introspection (RFC 7662), and for nothing else. */
export const RESOURCE_SERVER: Readonly<{ clientId: 'items-api'; clientSecret: string }> =
  Object.freeze({ clientId: 'items-api', clientSecret: 'items-api-secret' })

const MACHINE_CLIENTS = [
  DEMO_CLIENTS.reader,
  DEMO_CLIENTS.writer,
  DEMO_CLIENTS.admin,
  DEMO_CLIENTS.esReader,
  DEMO_CLIENTS.legacy,
  DEMO_CLIENTS.mtlsReader,
]

/**
 * The JWS algorithm of a client's JWT access tokens: ES256 for `es-reader`, RS256 otherwise.
 *
 * @example
 * accessTokenAlgFor('es-reader') // => 'ES256'
 */
export function accessTokenAlgFor(clientId: string): 'RS256' | 'ES256' {
  return clientId === DEMO_CLIENTS.esReader.clientId ? 'ES256' : 'RS256'
}

/**
 * Whether a client is one of the demo machine clients (client credentials grant).
 *
 * @example
 * isMachineClient('reader') // => true
 * isMachineClient('demo-web') // => false
 */
export function isMachineClient(clientId: string): boolean {
  return MACHINE_CLIENTS.some((known) => known.clientId === clientId)
}

/**
 * oidc-provider client metadata of every demo client and of the resource server, for the
 * server at `issuer` (the web app's redirect URI is on it).
 *
 * @example
 * new Provider(issuer, { clients: clientMetadata(issuer) })
 */
export function clientMetadata(issuer: string): ClientMetadata[] {
  const machines = MACHINE_CLIENTS.map((known): ClientMetadata => ({
    client_id: known.clientId,
    client_secret: known.clientSecret,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: known.scopes.join(' '),
    ...(known === DEMO_CLIENTS.mtlsReader
      ? { tls_client_certificate_bound_access_tokens: true }
      : {}),
  }))
  const { webApp } = DEMO_CLIENTS
  return [
    ...machines,
    {
      client_id: webApp.clientId,
      client_secret: webApp.clientSecret,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: [callbackUrl(issuer)],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
      require_auth_time: true,
      scope: webApp.scopes.join(' '),
    },
    {
      client_id: RESOURCE_SERVER.clientId,
      client_secret: RESOURCE_SERVER.clientSecret,
      grant_types: [],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ]
}
