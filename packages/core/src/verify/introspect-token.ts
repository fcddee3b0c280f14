import * as oidc from 'openid-client'
import createDebug from 'debug'
import { TokenInvalidError, VerifierUnavailableError } from '../errors.js'
import type { IssuerMetadata } from './issuer-metadata.js'

const debug = createDebug('scopeguard:introspection')

/** What an introspection answer is checked against; built once at start-up. */
export interface IntrospectionPolicy {
  readonly issuer: string
  readonly metadata: IssuerMetadata
  readonly audiences: readonly string[]
  /** Seconds of leeway for `exp`, `nbf` and `iat`. */
  readonly clockTolerance: number
  /** Seconds; answers whose `iat` is older (or missing) are rejected. */
  readonly maxTokenAge: number | undefined
}

/**
 * Verifies an opaque token by RFC 7662 introspection through openid-client, authenticated
 * with the resource server's client credentials. Only `active: true` (the boolean) is
 * active; an answer whose `aud` does not name this API, whose `iss` is another issuer, or
 * whose `exp` has passed is rejected. An unreachable or failing endpoint throws
 * {@link VerifierUnavailableError} (503) — never "inactive".
 *
 * @example
 * const claims = await introspectToken(token, policy, Date.now())
 */
export async function introspectToken(
  token: string,
  policy: IntrospectionPolicy,
  now: number,
): Promise<Record<string, unknown>> {
  let answer: Record<string, unknown>
  try {
    const config = await policy.metadata()
    answer = (await oidc.tokenIntrospection(config, token)) as Record<string, unknown>
  } catch (cause) {
    // The server answered about this token (an OAuth error naming the token, or an answer
    // whose `active` is not the boolean true): the token is not active. Anything else — the
    // server cannot be reached, fails, or says nothing about the token — is an outage.
    if (refusesToken(cause)) throw new TokenInvalidError('inactive', { cause })
    debug('introspection failed: %O', cause)
    throw new VerifierUnavailableError('token introspection is unavailable', { cause })
  }
  if (answer['active'] !== true) throw new TokenInvalidError('inactive')
  checkAnswer(answer, policy, now / 1000)
  return answer
}

function checkAnswer(
  answer: Record<string, unknown>,
  policy: IntrospectionPolicy,
  now: number,
): void {
  const { exp, nbf, iat, iss, aud } = answer
  if (exp !== undefined && (typeof exp !== 'number' || exp <= now - policy.clockTolerance)) {
    throw new TokenInvalidError('expired')
  }
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > now + policy.clockTolerance)) {
    throw new TokenInvalidError('not_yet_valid')
  }
  if (policy.maxTokenAge !== undefined) {
    if (typeof iat !== 'number') throw new TokenInvalidError('claim_invalid')
    if (now - iat - policy.clockTolerance > policy.maxTokenAge)
      throw new TokenInvalidError('too_old')
  }
  if (iss !== undefined && iss !== policy.issuer) throw new TokenInvalidError('issuer_mismatch')
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : []
  if (!audiences.some((entry) => policy.audiences.includes(entry as string))) {
    throw new TokenInvalidError('audience_mismatch')
  }
}

const TOKEN_ERRORS = new Set(['unsupported_token_type', 'invalid_token'])

function refusesToken(error: unknown): boolean {
  if (error instanceof oidc.ResponseBodyError) return TOKEN_ERRORS.has(error.error)
  // openid-client (a ClientError around oauth4webapi's error): a JSON object whose `active`
  // is not a boolean, or is missing, with that object as `cause.body`.
  for (
    let current = error as { code?: unknown; cause?: unknown } | undefined, depth = 0;
    current && depth < 3;
    depth++
  ) {
    const body = (current.cause as { body?: unknown } | undefined)?.body
    if (
      current.code === 'OAUTH_INVALID_RESPONSE' &&
      body !== null &&
      typeof body === 'object' &&
      !Array.isArray(body)
    ) {
      return true
    }
    current = current.cause as typeof current
  }
  return false
}
