import { AuthzServerRequestError } from './errors.js'
import { ROUTES } from './routes.js'

/** Client credentials as sent with `client_secret_basic`. */
export interface ClientCredentials {
  clientId: string
  clientSecret: string
}

/**
 * The `Authorization` header of `client_secret_basic` (RFC 6749 §2.3.1: both parts
 * form-urlencoded, then Base64).
 *
 * @example
 * basicAuthorization({ clientId: 'reader', clientSecret: 'reader-secret' }) // => 'Basic cmVh…'
 */
export function basicAuthorization({ clientId, clientSecret }: ClientCredentials): string {
  const encode = (value: string): string => encodeURIComponent(value).replace(/%20/g, '+')
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`
}

/**
 * POSTs a form to an endpoint of the server, authenticated as `client`, and returns the
 * parsed JSON answer (an empty object for an empty body). Throws `AuthzServerRequestError`
 * with the server's error body when the status is not 200.
 *
 * @example
 * const body = await postForm(issuer, ROUTES.token, client, { grant_type: 'client_credentials' }, 'token request')
 */
export async function postForm(
  issuer: string,
  path: string,
  client: ClientCredentials,
  form: Record<string, string>,
  what: string,
  headers: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  const response = await fetch(`${issuer}${path}`, {
    method: 'POST',
    headers: {
      ...headers,
      authorization: basicAuthorization(client),
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    },
    body: new URLSearchParams(form).toString(),
  })
  const text = await response.text()
  const body = parseBody(text)
  if (response.status !== 200) throw new AuthzServerRequestError(what, response.status, body)
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AuthzServerRequestError(`${what} (not a JSON object)`, response.status, body)
  }
  return body as Record<string, unknown>
}

function parseBody(text: string): unknown {
  if (text === '') return {}
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

/**
 * Reads a string member of a token endpoint answer, or throws if it is missing.
 *
 * @example
 * const token = stringMember(body, 'access_token', 'token request')
 */
export function stringMember(body: Record<string, unknown>, name: string, what: string): string {
  const value = body[name]
  if (typeof value !== 'string' || value === '') {
    throw new AuthzServerRequestError(`${what} (no ${name} in the answer)`, 200, body)
  }
  return value
}

/**
 * Client credentials grant over HTTP: returns the access token for `resource` with `scope`.
 *
 * @example
 * const jwt = await requestClientCredentialsToken(issuer, DEMO_CLIENTS.reader, 'read:items', ITEMS_API)
 */
export async function requestClientCredentialsToken(
  issuer: string,
  client: ClientCredentials,
  scope: string,
  resource: string,
  headers: Record<string, string> = {},
): Promise<string> {
  const what = `token request of ${client.clientId}`
  const body = await postForm(
    issuer,
    ROUTES.token,
    client,
    { grant_type: 'client_credentials', scope, resource },
    what,
    headers,
  )
  return stringMember(body, 'access_token', what)
}

/**
 * RFC 7009 revocation over HTTP, by the client the token was issued to.
 *
 * @example
 * await revokeToken(issuer, DEMO_CLIENTS.legacy, opaqueToken)
 */
export async function revokeToken(
  issuer: string,
  client: ClientCredentials,
  token: string,
): Promise<void> {
  await postForm(issuer, ROUTES.revocation, client, { token }, `revocation by ${client.clientId}`)
}
