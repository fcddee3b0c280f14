import createDebug from 'debug'
import type { AuthInfo } from '../auth-info.js'
import { deny, type Decision } from '../decision.js'
import type { DenialResponse } from '../responses.js'
import { revocationKey, type RevocationKind, type StoreSnapshot } from './types.js'

const debug = createDebug('scopeguard:decision')

/**
 * Applies the store's shared state to a verified caller: an unavailable store (fail-closed)
 * answers 503; a revoked token, client or subject, or the kill switch, refuses the token
 * (401, with the caller in the audit trail); active elevation grants add their scopes, and
 * the caller's `elevation` says which.
 *
 * @example
 * const decision = applyState(store.snapshot(), auth, Date.now(), { invalidToken, unavailable })
 */
export function applyState(
  state: StoreSnapshot,
  auth: AuthInfo,
  now: number,
  refusals: { readonly invalidToken: DenialResponse; readonly unavailable: DenialResponse },
): Decision {
  if (state.unavailable) return deny('verifier_unavailable', refusals.unavailable)
  const revoked = (kind: RevocationKind, value: string | undefined): boolean => {
    const found =
      value === undefined ? undefined : state.revocations.get(revocationKey(kind, value))
    return found !== undefined && found.until > now
  }
  const killed =
    state.killSwitch !== undefined && !state.killSwitch.except.includes(auth.clientId ?? '')
  if (
    killed ||
    revoked('jti', auth.token.id) ||
    revoked('clientId', auth.clientId) ||
    revoked('subject', auth.subject)
  ) {
    debug('token refused: revoked%s', killed ? ' (kill switch)' : '')
    // The caller is known (the token itself was valid): the audit trail says whose token it was.
    return deny('token_invalid', refusals.invalidToken, { rejection: 'revoked', auth })
  }
  const grants = [...state.grants.values()].filter(
    (g) =>
      g.expiresAt > now &&
      ((g.clientId !== undefined && g.clientId === auth.clientId) ||
        (g.subject !== undefined && g.subject === auth.subject)),
  )
  if (grants.length === 0) return { allowed: true, status: 200, reason: 'allowed', auth }
  const extra = [...new Set(grants.flatMap((g) => g.scopes))].filter(
    (scope) => !auth.scopes.has(scope),
  )
  const elevated: AuthInfo = Object.freeze({
    ...auth,
    scopes: Object.freeze(new Set([...auth.scopes, ...extra])),
    elevation: Object.freeze({
      scopes: Object.freeze(extra),
      grants: Object.freeze(grants.map((g) => g.id)),
    }),
  })
  return { allowed: true, status: 200, reason: 'allowed', auth: elevated }
}
