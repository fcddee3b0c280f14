/**
 * A request to the authorization server failed: an error answer (its status and body are
 * on the error) or a flow that stopped where it should not have.
 */
export class AuthzServerRequestError extends Error {
  override readonly name = 'AuthzServerRequestError'
  /** Stable code to switch on. */
  readonly code = 'ERR_AUTHZ_SERVER_REQUEST'
  /** HTTP status of the answer. */
  readonly status: number
  /** The answer's body: parsed JSON (an OAuth error object) when it was JSON, else the text. */
  readonly body: unknown

  constructor(what: string, status: number, body: unknown) {
    const oauthError = isRecord(body) && typeof body.error === 'string' ? ` (${body.error})` : ''
    super(`${what} failed with HTTP ${status}${oauthError}`, { cause: body })
    this.status = status
    this.body = body
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null
}
