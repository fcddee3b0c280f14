import type { AuthInfo } from '../auth-info.js'
import { deny, type Deny } from '../decision.js'
import { TokenInvalidError } from '../errors.js'
import { readDpopHeader } from '../extract-token.js'
import type { ScopeguardRequest } from '../request.js'
import type { Challenges, DpopChallenges } from '../responses.js'
import type { Store } from '../store/types.js'
import { createReplayCache } from './replay-cache.js'
import { verifyDpopProof, type DpopPolicy } from './verify-proof.js'

/**
 * Judges the DPoP side of one request whose token verified; undefined when it may proceed.
 * Synchronous for a bearer request; a promise only for a `DPoP` one (its proof is verified).
 */
export type CheckDpop = (
  request: ScopeguardRequest,
  scheme: 'bearer' | 'dpop',
  auth: AuthInfo,
) => Deny | undefined | Promise<Deny | undefined>

/**
 * Builds the per-request DPoP check of a guard (RFC 9449 §7): a DPoP-bound token (`cnf.jkt`)
 * needs the `DPoP` scheme and one valid proof of its key, whose `jti` is then claimed in the
 * store so that a replay within the proof's window is refused on every instance sharing it;
 * the `DPoP` scheme needs a bound token; with `required` (and no policy rule relaxing it), a
 * bearer token is refused. Bearer failures keep the byte-identical `Bearer` challenge. The
 * bearer side is answered synchronously (it reads no proof), so cached bearer requests stay
 * synchronous; only a `DPoP` request gets a promise.
 *
 * @example
 * const refused = await checkDpop(request, found.scheme ?? 'bearer', auth)
 * if (refused) return refused
 */
export function createDpopCheck(
  policy: DpopPolicy,
  challenges: Challenges & { readonly dpop: DpopChallenges },
  store: Store,
  clock: () => number,
  requiredHere: () => boolean,
): CheckDpop {
  const local = store.claimOnce === undefined ? createReplayCache(100_000, clock) : undefined
  const claimOnce = async (key: string, ttlMs: number): Promise<boolean> =>
    local !== undefined ? local.claimOnce(key, ttlMs) : (store.claimOnce?.(key, ttlMs) ?? false)
  const dpop = challenges.dpop

  const checkProof = async (
    request: ScopeguardRequest,
    auth: AuthInfo,
    jkt: string,
  ): Promise<Deny | undefined> => {
    const proof = readDpopHeader(request)
    if (proof === undefined || proof === 'duplicate') {
      return deny('proof_invalid', dpop.invalidProof, {
        rejection: proof === undefined ? 'dpop_proof_missing' : 'dpop_proof_invalid',
        auth,
      })
    }
    const now = clock()
    let checked
    try {
      checked = await verifyDpopProof(
        { proof, method: request.method, url: request.url, ath: auth.token.fingerprint, jkt, now },
        policy,
      )
    } catch (error) {
      if (!(error instanceof TokenInvalidError)) throw error
      if (error.reason === 'dpop_nonce_invalid' && policy.nonce !== undefined) {
        return deny('nonce_required', dpop.useNonce(policy.nonce.current(now).nonce), {
          rejection: error.reason,
          auth,
          cause: error,
        })
      }
      return deny('proof_invalid', dpop.invalidProof, {
        rejection: error.reason,
        auth,
        cause: error,
      })
    }
    // Last, and only for a proof that verified: a forged proof cannot fill the cache.
    let first: boolean
    try {
      first = await claimOnce(
        `dpop:${jkt}:${checked.jti}`,
        Math.max(1, checked.acceptedUntil - now),
      )
    } catch (error) {
      return deny('verifier_unavailable', challenges.unavailable, { auth, cause: error })
    }
    if (!first) return deny('proof_invalid', dpop.invalidProof, { rejection: 'dpop_replay', auth })
    return undefined
  }

  return (request, scheme, auth) => {
    const jkt = auth.binding?.jkt
    if (scheme === 'bearer') {
      if (jkt !== undefined) {
        // RFC 9449 §7.2: a bound token presented as a bearer token proves nothing.
        return deny('token_invalid', requiredHere() ? dpop.invalidToken : challenges.invalidToken, {
          rejection: 'key_bound',
          auth,
        })
      }
      if (requiredHere())
        return deny('token_invalid', dpop.invalidToken, { rejection: 'dpop_required', auth })
      return undefined
    }
    if (jkt === undefined)
      return deny('token_invalid', dpop.invalidToken, { rejection: 'dpop_unbound', auth })
    return checkProof(request, auth, jkt)
  }
}
