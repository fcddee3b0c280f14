/** Paths of the endpoints the server and its HTTP helpers share (oidc-provider `routes`). */
export const ROUTES = Object.freeze({
  authorization: '/auth',
  token: '/token',
  jwks: '/jwks',
  introspection: '/token/introspection',
  revocation: '/token/revocation',
  userinfo: '/me',
})

/** OpenID Connect Discovery metadata, served by oidc-provider. */
export const OIDC_DISCOVERY_PATH = '/.well-known/openid-configuration'

/** RFC 8414 authorization server metadata: the same document, served by our listener. */
export const OAUTH_METADATA_PATH = '/.well-known/oauth-authorization-server'

/** Where the end-user interactions (sign-in, consent) live. */
export const INTERACTION_PREFIX = '/interaction/'

/** The web app's redirect URI path; the server shows the authorization code there. */
export const CALLBACK_PATH = '/callback'

/**
 * The redirect URI of the demo web app on the server at `issuer`.
 *
 * @example
 * callbackUrl('http://127.0.0.1:4000') // => 'http://127.0.0.1:4000/callback'
 */
export function callbackUrl(issuer: string): string {
  return `${issuer}${CALLBACK_PATH}`
}
