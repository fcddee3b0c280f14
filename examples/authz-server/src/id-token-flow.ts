import { createHash, randomBytes } from 'node:crypto'
import { decodeJwt } from 'jose'
import { CookieJar } from './cookie-jar.js'
import { AuthzServerRequestError } from './errors.js'
import { postForm, stringMember, type ClientCredentials } from './oauth-client.js'
import { INTERACTION_PREFIX, ROUTES, callbackUrl } from './routes.js'

/** The end-user the headless flow signs in as (the ID token's `sub`). */
export const DEMO_USER = 'demo-user'

const MAX_HOPS = 12

/**
 * Obtains a genuine OpenID Connect ID token for `client` over HTTP, the way a browser and a
 * web app would: authorization request (`response_type=code`, `scope=openid`, PKCE S256,
 * `state`, `nonce`), the server's sign-in form answered for `DEMO_USER`, consent (granted by
 * the server itself), redirect back with a code, and the code exchanged at the token endpoint
 * with `client_secret_basic`. Checks `state` and `nonce`; throws `AuthzServerRequestError`
 * when a step fails.
 *
 * @example
 * const idToken = await obtainIdToken(server.issuer, DEMO_CLIENTS.webApp)
 */
export async function obtainIdToken(issuer: string, client: ClientCredentials): Promise<string> {
  const verifier = randomBytes(32).toString('base64url')
  const state = randomBytes(16).toString('base64url')
  const nonce = randomBytes(16).toString('base64url')
  const redirectUri = callbackUrl(issuer)
  const authorization = new URL(`${issuer}${ROUTES.authorization}`)
  authorization.search = new URLSearchParams({
    client_id: client.clientId,
    response_type: 'code',
    scope: 'openid',
    redirect_uri: redirectUri,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    state,
    nonce,
  }).toString()

  const code = await followAuthorization(authorization, redirectUri, state)
  const what = `authorization code exchange of ${client.clientId}`
  const body = await postForm(
    issuer,
    ROUTES.token,
    client,
    { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier },
    what,
  )
  const idToken = stringMember(body, 'id_token', what)
  if (decodeJwt(idToken).nonce !== nonce) {
    throw new AuthzServerRequestError(`${what} (ID token nonce mismatch)`, 200, body)
  }
  return idToken
}

/** Walks the redirects of the authorization request until the redirect URI; returns the code. */
async function followAuthorization(
  start: URL,
  redirectUri: string,
  state: string,
): Promise<string> {
  const jar = new CookieJar()
  let url = start
  let form: URLSearchParams | undefined
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    const response = await fetch(url, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: {
        cookie: jar.header(),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(form ? { body: form.toString() } : {}),
    })
    jar.store(response.headers.getSetCookie())
    const text = await response.text()
    const location = response.headers.get('location')
    if (response.status >= 300 && response.status < 400 && location !== null) {
      const next = new URL(location, url)
      if (`${next.origin}${next.pathname}` === redirectUri) return codeFrom(next, state)
      url = next
      form = undefined
    } else if (response.status === 200 && url.pathname.startsWith(INTERACTION_PREFIX) && !form) {
      // The sign-in form: post it as the demo user would.
      url = new URL(`${url.pathname}/login`, url)
      form = new URLSearchParams({ login: DEMO_USER })
    } else {
      throw new AuthzServerRequestError(
        `authorization flow at ${url.pathname}`,
        response.status,
        text,
      )
    }
  }
  throw new AuthzServerRequestError('authorization flow (too many redirects)', 0, url.href)
}

function codeFrom(callback: URL, state: string): string {
  const params = Object.fromEntries(callback.searchParams)
  if (params.state !== state) {
    throw new AuthzServerRequestError('authorization flow (state mismatch)', 303, params)
  }
  const code = params.code
  if (code === undefined || params.error !== undefined) {
    throw new AuthzServerRequestError('authorization request', 303, params)
  }
  return code
}
