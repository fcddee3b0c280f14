import { randomBytes } from 'node:crypto'
import type { JWK } from 'jose'
import { errors, type Configuration, type JWKS } from 'oidc-provider'
import { RESOURCE_SERVER, clientMetadata } from './clients.js'
import { createMemoryAdapter } from './memory-adapter.js'
import {
  DEMO_SCOPES,
  defaultResourceFor,
  describeResourceServer,
  isDemoResource,
} from './resources.js'
import { INTERACTION_PREFIX, ROUTES } from './routes.js'

/** What the provider configuration depends on. */
export interface ProviderSettings {
  issuer: string
  /** Private signing keys, already checked by `prepareSigningKeys`. */
  keys: JWK[]
  /** Lifetime of access tokens, in seconds. */
  accessTokenTtl: number
}

/** The request header that carries the client certificate of a token request (URL-encoded PEM). */
export const CLIENT_CERTIFICATE_HEADER = 'x-client-cert'

const LOOPBACK_ORIGIN = /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/

/**
 * The oidc-provider configuration of the local authorization server: the demo clients,
 * client credentials with resource indicators (JWTs for the items API, opaque tokens for the
 * legacy API), introspection by the resource server, revocation by the token's own client,
 * the authorization code flow with PKCE for the web app, DPoP-bound tokens for clients that
 * send a DPoP proof (RFC 9449), and every helper oidc-provider
 * asks deployments to set (so it prints no notices). devInteractions are off: `interactions.ts`
 * serves the sign-in instead.
 *
 * @example
 * const provider = new Provider(issuer, createProviderConfiguration({ issuer, keys, accessTokenTtl: 600 }))
 */
export function createProviderConfiguration({
  issuer,
  keys,
  accessTokenTtl,
}: ProviderSettings): Configuration {
  return {
    adapter: createMemoryAdapter(),
    clients: clientMetadata(issuer),
    jwks: { keys } as JWKS,
    scopes: ['openid', ...DEMO_SCOPES],
    routes: { ...ROUTES },
    // Fresh on every start: nothing signed by an earlier run is trusted, and nothing is logged.
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
    interactions: { url: (_ctx, interaction) => `${INTERACTION_PREFIX}${interaction.uid}` },
    pkce: { required: () => true },
    // Browsers may call the endpoints from local pages only.
    clientBasedCORS: (_ctx, origin) => LOOPBACK_ORIGIN.test(origin),
    // Client credentials tokens have no end-user: their subject is the client.
    extraTokenClaims: (_ctx, token) =>
      token.kind === 'ClientCredentials' ? { sub: token.clientId } : undefined,
    renderError: (ctx, out) => {
      ctx.type = 'json'
      ctx.body = out
    },
    ttl: {
      AccessToken: accessTokenTtl,
      ClientCredentials: accessTokenTtl,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
      RefreshToken: 86_400,
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      // DPoP (RFC 9449): a token request with a DPoP proof gets a token bound to the proof's
      // key (`cnf.jkt`, token_type DPoP), which the items API accepts only with a proof.
      dPoP: { enabled: true },
      introspection: {
        enabled: true,
        // The resource server may introspect tokens for the demo APIs; any client its own.
        allowedPolicy: (_ctx, client, token) =>
          client.clientId === RESOURCE_SERVER.clientId
            ? 'aud' in token && isDemoResource(token.aud)
            : token.clientId === client.clientId,
      },
      revocation: {
        enabled: true,
        allowedPolicy: (_ctx, client, token) => {
          if (token.clientId !== client.clientId) {
            throw new errors.InvalidRequest(
              'client is not authorized to revoke the presented token',
            )
          }
          return true
        },
      },
      // RFC 8705 certificate-bound tokens for clients that ask for them (mtls-reader). The
      // server speaks plain HTTP on loopback, so the client certificate arrives as a TLS-
      // terminating proxy would forward it: URL-encoded PEM in CLIENT_CERTIFICATE_HEADER.
      mTLS: {
        enabled: true,
        certificateBoundAccessTokens: true,
        getCertificate: (ctx) => {
          const value = ctx.get(CLIENT_CERTIFICATE_HEADER)
          return value === '' ? undefined : decodeURIComponent(value)
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx, client) => defaultResourceFor(client.clientId),
        getResourceServerInfo: (_ctx, resource, client) =>
          describeResourceServer(resource, client.clientId, accessTokenTtl),
        useGrantedResource: () => false,
      },
    },
  }
}
