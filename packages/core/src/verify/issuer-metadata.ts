import * as oidc from 'openid-client'
import createDebug from 'debug'
import { isLoopback } from '../check-url.js'
import type { FetchLike } from './fetch-json.js'

const debug = createDebug('scopeguard:discovery')
const FAILURE_BACKOFF = 1000

/** Client credentials of the resource server at the authorization server (introspection). */
export interface ClientCredentials {
  readonly clientId: string
  readonly clientSecret: string
}

/** Lazily discovered metadata of one issuer, as an openid-client `Configuration`. */
export type IssuerMetadata = () => Promise<oidc.Configuration>

/**
 * Creates a lazy, shared lookup of an issuer's metadata: RFC 8414
 * (`/.well-known/oauth-authorization-server`) first, OpenID Connect Discovery as the
 * fallback. openid-client checks that the document names the expected issuer. Concurrent
 * callers share one lookup; a success is kept, a failure is retried by the next caller after
 * a short back-off.
 *
 * @example
 * const metadata = createIssuerMetadata('https://auth.example.com', creds, io)
 * const { jwks_uri } = (await metadata()).serverMetadata()
 */
export function createIssuerMetadata(
  expected: string,
  credentials: ClientCredentials | undefined,
  io: { fetch: FetchLike; timeout: number; clock: () => number; onFetch: () => void },
): IssuerMetadata {
  const issuer = new URL(expected)
  let result: Promise<oidc.Configuration> | undefined
  let failedAt = -Infinity
  return () => {
    if (result === undefined && io.clock() - failedAt < FAILURE_BACKOFF) {
      return Promise.reject(new Error(`discovery of ${issuer.href} failed moments ago`))
    }
    result ??= discover(issuer, expected, credentials, io).catch((error: unknown) => {
      failedAt = io.clock()
      result = undefined
      debug('discovery of %s failed: %O', issuer.href, error)
      throw error
    })
    return result
  }
}

/**
 * Builds an openid-client `Configuration` from an explicit introspection endpoint, without
 * discovery.
 */
export function createStaticIssuerMetadata(
  issuer: URL,
  introspectionEndpoint: URL,
  credentials: ClientCredentials,
  io: { fetch: FetchLike; timeout: number },
): IssuerMetadata {
  const config = new oidc.Configuration(
    { issuer: issuer.href, introspection_endpoint: introspectionEndpoint.href },
    credentials.clientId,
    undefined,
    oidc.ClientSecretBasic(credentials.clientSecret),
  )
  configure(config, introspectionEndpoint, io)
  return () => Promise.resolve(config)
}

async function discover(
  issuer: URL,
  expected: string,
  credentials: ClientCredentials | undefined,
  io: { fetch: FetchLike; timeout: number; onFetch: () => void },
): Promise<oidc.Configuration> {
  const counted: FetchLike = (input, init) => {
    io.onFetch()
    return withDeadline(io.fetch, io.timeout)(input, init)
  }
  const options = (algorithm: 'oauth2' | 'oidc'): oidc.DiscoveryRequestOptions => ({
    algorithm,
    timeout: Math.max(1, Math.ceil(io.timeout / 1000)),
    [oidc.customFetch]: counted as oidc.CustomFetch,
    execute: isInsecureLoopback(issuer) ? [oidc.allowInsecureRequests] : [],
  })
  const clientId = credentials?.clientId ?? 'scopeguard-resource-server'
  const auth = credentials ? oidc.ClientSecretBasic(credentials.clientSecret) : oidc.None()
  let config: oidc.Configuration
  try {
    config = await oidc.discovery(issuer, clientId, undefined, auth, options('oauth2'))
  } catch (first) {
    debug(
      'RFC 8414 metadata of %s unavailable, trying OpenID Connect discovery: %O',
      issuer.href,
      first,
    )
    config = await oidc.discovery(issuer, clientId, undefined, auth, options('oidc'))
  }
  // RFC 8414 §3.3: the issuer must be identical, not merely the same URL once normalized.
  const named = config.serverMetadata().issuer
  if (named !== expected) {
    throw new Error(
      `the metadata names the issuer ${JSON.stringify(named)}, not ${JSON.stringify(expected)}`,
    )
  }
  config[oidc.customFetch] = withDeadline(io.fetch, io.timeout) as oidc.CustomFetch // later requests are not discovery
  return config
}

/**
 * A fetch that aborts after `timeout` milliseconds, body included (openid-client's own
 * timeout counts whole seconds). Its own controller and timer: a signal composed with
 * AbortSignal.any can be collected before it fires on Node 20.
 */
function withDeadline(fetchImpl: FetchLike, timeout: number): FetchLike {
  return (input, init) => {
    const controller = new AbortController()
    const timer = setTimeout(
      () => controller.abort(new Error(`no answer within ${timeout} ms`)),
      timeout,
    )
    timer.unref()
    const outer = init?.signal
    if (outer) {
      if (outer.aborted) controller.abort(outer.reason)
      else outer.addEventListener('abort', () => controller.abort(outer.reason), { once: true })
    }
    return fetchImpl(input, { ...init, signal: controller.signal })
  }
}

function configure(
  config: oidc.Configuration,
  url: URL,
  io: { fetch: FetchLike; timeout: number },
): void {
  config[oidc.customFetch] = withDeadline(io.fetch, io.timeout) as oidc.CustomFetch
  config.timeout = Math.max(1, Math.ceil(io.timeout / 1000))
  if (isInsecureLoopback(url)) oidc.allowInsecureRequests(config)
}

function isInsecureLoopback(url: URL): boolean {
  return url.protocol === 'http:' && isLoopback(url.hostname)
}
