import {
  calculateJwkThumbprint,
  decodeProtectedHeader,
  EmbeddedJWK,
  jwtVerify,
  type JWK,
  type ProtectedHeaderParameters,
} from 'jose'
import { TokenInvalidError, type DpopRejection } from '../errors.js'
import type { NonceSource } from './nonce.js'

/** What checking a DPoP proof needs, resolved from the options. */
export interface DpopPolicy {
  /** The global mode (`disabled` resolves to no policy at all). */
  readonly mode: 'allowed' | 'required'
  readonly algorithms: readonly string[]
  /** Seconds a proof is accepted after its `iat`. */
  readonly iatWindow: number
  /** Seconds of leeway either way (the guard's `clockTolerance`). */
  readonly clockTolerance: number
  readonly nonce: NonceSource | undefined
  /** The public origin to check `htu` against, instead of the request's. */
  readonly origin: string | undefined
}

/** One proof to check, with the request it came with. */
export interface ProofRequest {
  /** The `DPoP` header value. */
  readonly proof: string
  readonly method: string
  /** The request URL as the app sees it (query and fragment are ignored). */
  readonly url: string | undefined
  /** base64url(SHA-256(access token)): what `ath` must be. */
  readonly ath: string
  /** The `cnf.jkt` of the access token. */
  readonly jkt: string
  readonly now: number
}

/** A proof that passed every check except replay, which the caller checks in its store. */
export interface CheckedProof {
  readonly jti: string
  /** Epoch ms after which the proof would be refused anyway (its replay no longer matters). */
  readonly acceptedUntil: number
}

const PROOF_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/
const MAX_PROOF_LENGTH = 8192
const MAX_JTI_LENGTH = 256
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']

/**
 * Checks a DPoP proof JWT against the request and the access token (RFC 9449 §4.3): one
 * well-formed JWT, `typ: dpop+jwt`, an allowed asymmetric `alg`, a public `jwk` without
 * private members whose signature verifies, `jti`, `htm` equal to the method, `htu` equal to
 * the request URL (scheme, host and path; query and fragment ignored), `iat` within the window,
 * the server nonce when nonces are on, `ath` of the token, and the `jwk` thumbprint equal to
 * the token's `cnf.jkt`. Throws a `TokenInvalidError` whose `reason` says which check failed.
 *
 * @example
 * const { jti, acceptedUntil } = await verifyDpopProof({ proof, method: 'GET', url, ath, jkt, now }, policy)
 */
export async function verifyDpopProof(
  request: ProofRequest,
  policy: DpopPolicy,
): Promise<CheckedProof> {
  const { proof, now } = request
  if (proof.length > MAX_PROOF_LENGTH || !PROOF_SHAPE.test(proof)) fail('dpop_proof_invalid')
  const header = readHeader(proof)
  if (header.typ !== 'dpop+jwt') fail('dpop_proof_invalid')
  if (typeof header.alg !== 'string' || !policy.algorithms.includes(header.alg))
    fail('dpop_proof_invalid')
  const jwk = header.jwk as Record<string, unknown> | undefined
  if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) fail('dpop_proof_invalid')
  if (PRIVATE_MEMBERS.some((member) => Object.hasOwn(jwk, member))) fail('dpop_proof_invalid')

  let payload: Record<string, unknown>
  try {
    ;({ payload } = await jwtVerify(proof, EmbeddedJWK, {
      algorithms: [...policy.algorithms],
      typ: 'dpop+jwt',
      currentDate: new Date(now),
      clockTolerance: policy.clockTolerance,
    }))
  } catch (error) {
    fail('dpop_proof_invalid', error)
  }
  const { jti, htm, htu, iat, nonce, ath } = payload
  if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH)
    fail('dpop_proof_invalid')
  if (typeof htm !== 'string' || typeof htu !== 'string' || typeof iat !== 'number')
    fail('dpop_proof_invalid')
  if (htm !== request.method) fail('dpop_htm_mismatch')
  const target = request.url === undefined ? undefined : normalizeHtu(request.url, policy.origin)
  if (target === undefined || normalizeHtu(htu, undefined) !== target) fail('dpop_htu_mismatch')
  const age = now / 1000 - iat
  if (!(age <= policy.iatWindow + policy.clockTolerance && age >= -policy.clockTolerance))
    fail('dpop_iat_invalid')
  if (ath !== request.ath) fail('dpop_ath_mismatch')
  if ((await thumbprint(jwk)) !== request.jkt) fail('dpop_jkt_mismatch')
  if (
    policy.nonce !== undefined &&
    (typeof nonce !== 'string' || !policy.nonce.accepts(nonce, now))
  )
    fail('dpop_nonce_invalid')
  return { jti, acceptedUntil: (iat + policy.iatWindow + policy.clockTolerance) * 1000 }
}

/**
 * The form of a URL that `htu` is compared in (RFC 9449 §4.3, RFC 3986 §6.2.2 and §6.2.3):
 * lower-case scheme and host, no default port, the path as the WHATWG URL parser normalizes
 * it, no query, no fragment. With `origin`, its scheme and host replace the URL's.
 * Undefined for anything but an absolute http(s) URL.
 *
 * @example
 * normalizeHtu('HTTPS://API.example.com:443/items?x=1', undefined) // => 'https://api.example.com/items'
 */
export function normalizeHtu(value: string, origin: string | undefined): string | undefined {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return undefined
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined
  return `${origin ?? url.origin}${url.pathname}`
}

function readHeader(proof: string): ProtectedHeaderParameters {
  try {
    return decodeProtectedHeader(proof)
  } catch (error) {
    fail('dpop_proof_invalid', error)
  }
}

async function thumbprint(jwk: Record<string, unknown>): Promise<string | undefined> {
  try {
    return await calculateJwkThumbprint(jwk as JWK, 'sha256')
  } catch {
    return undefined
  }
}

function fail(reason: DpopRejection, cause?: unknown): never {
  throw new TokenInvalidError(reason, cause === undefined ? undefined : { cause })
}
