import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http'
import type Provider from 'oidc-provider'
import { handleInteraction } from './interactions.js'
import {
  CALLBACK_PATH,
  INTERACTION_PREFIX,
  OAUTH_METADATA_PATH,
  OIDC_DISCOVERY_PATH,
  ROUTES,
} from './routes.js'

/** Live counters of the HTTP requests the server has served, by endpoint. */
export interface AuthzServerStats {
  jwksRequests: number
  introspectionRequests: number
  discoveryRequests: number
}

/**
 * The server's request listener: counts requests in `stats` by path, serves the RFC 8414
 * metadata path with the discovery document, the end-user interactions and the web app's
 * callback page, and hands everything else to oidc-provider.
 *
 * @example
 * const stats = { jwksRequests: 0, introspectionRequests: 0, discoveryRequests: 0 }
 * createServer(createRequestListener(provider, stats))
 */
export function createRequestListener(
  provider: Provider,
  stats: AuthzServerStats,
): RequestListener {
  const delegate = provider.callback()
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://authz.invalid')
    count(stats, url.pathname)
    if (url.pathname === OAUTH_METADATA_PATH) {
      req.url = `${OIDC_DISCOVERY_PATH}${url.search}`
    } else if (url.pathname.startsWith(INTERACTION_PREFIX)) {
      handleInteraction(provider, req, res, url.pathname).catch((error: unknown) =>
        failed(res, error),
      )
      return
    } else if (url.pathname === CALLBACK_PATH) {
      return callbackPage(req, res, url.searchParams)
    }
    void delegate(req, res)
  }
}

function count(stats: AuthzServerStats, path: string): void {
  if (path === ROUTES.jwks) stats.jwksRequests++
  else if (path === ROUTES.introspection) stats.introspectionRequests++
  else if (path === OIDC_DISCOVERY_PATH || path === OAUTH_METADATA_PATH) stats.discoveryRequests++
}

/** Where a browser lands after signing in: shows the code to exchange at the token endpoint. */
function callbackPage(_req: IncomingMessage, res: ServerResponse, params: URLSearchParams): void {
  const code = params.get('code')
  const text = code
    ? `Authorization code: ${code}\nExchange it within 60 s at POST ${ROUTES.token} with ` +
      'grant_type=authorization_code, redirect_uri and your PKCE code_verifier.\n'
    : `No code: ${params.get('error') ?? 'unknown error'} ${params.get('error_description') ?? ''}\n`
  res.writeHead(code ? 200 : 400, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
  })
  res.end(text)
}

function failed(res: ServerResponse, error: unknown): void {
  console.error('authz-server: interaction failed', error)
  if (res.headersSent) {
    res.destroy(error instanceof Error ? error : undefined)
    return
  }
  res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' })
  res.end('interaction failed\n')
}
