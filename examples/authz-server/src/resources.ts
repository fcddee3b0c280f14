import { errors, type ResourceServer } from 'oidc-provider'
import { DEMO_CLIENTS, accessTokenAlgFor, isMachineClient } from './clients.js'

/** Resource indicator of the items API. Its access tokens are JWTs (`typ: at+jwt`). */
export const ITEMS_API = 'https://items-api.scopeguard.test'

/** Resource indicator of the legacy API. Its access tokens are opaque, checked by introspection. */
export const LEGACY_API = 'https://legacy-api.scopeguard.test'

/** Every scope the demo APIs know; a client gets only those listed for it. */
export const DEMO_SCOPES: readonly string[] = Object.freeze([
  'read:items',
  'write:items',
  'delete:items',
  'admin',
])

const RESOURCES: ReadonlySet<string> = new Set([ITEMS_API, LEGACY_API])

/**
 * Whether a token audience is one of the demo APIs.
 *
 * @example
 * isDemoResource(LEGACY_API) // => true
 */
export function isDemoResource(audience: unknown): boolean {
  return typeof audience === 'string' && RESOURCES.has(audience)
}

/**
 * The resource a client's token is for when it names none (oidc-provider `defaultResource`):
 * the legacy API for `legacy-client`, the items API for the other machine clients, none for
 * `demo-web` (its access token is for the userinfo endpoint).
 *
 * @example
 * defaultResourceFor('legacy-client') // => LEGACY_API
 */
export function defaultResourceFor(clientId: string): string | undefined {
  if (clientId === DEMO_CLIENTS.legacy.clientId) return LEGACY_API
  return isMachineClient(clientId) ? ITEMS_API : undefined
}

/**
 * What oidc-provider needs to know about a resource server (its `getResourceServerInfo`):
 * JWT access tokens for the items API, signed with the client's algorithm (ES256 for
 * `es-reader`, RS256 otherwise), and opaque ones for the legacy API. Any other resource
 * indicator is refused with `invalid_target`.
 *
 * @example
 * describeResourceServer(ITEMS_API, 'es-reader', 600).jwt // => { sign: { alg: 'ES256' } }
 */
export function describeResourceServer(
  resource: string,
  clientId: string,
  accessTokenTtl: number,
): ResourceServer {
  const common = {
    audience: resource,
    scope: DEMO_SCOPES.join(' '),
    accessTokenTTL: accessTokenTtl,
  }
  switch (resource) {
    case ITEMS_API:
      return {
        ...common,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: accessTokenAlgFor(clientId) } },
      }
    case LEGACY_API:
      return { ...common, accessTokenFormat: 'opaque' }
    default:
      throw new errors.InvalidTarget(
        `unknown resource indicator, use ${ITEMS_API} or ${LEGACY_API}`,
      )
  }
}
