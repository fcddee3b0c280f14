import {
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyOptions,
  type JWTVerifyResult,
} from 'jose'
import { TokenInvalidError, VerifierUnavailableError, type TokenRejection } from '../errors.js'
import type { GetKey } from './key-source.js'

/** What JWT verification is checked against; built once at start-up. */
export interface JwtPolicy {
  /** Each accepted issuer, exactly as its tokens' `iss`, with its key resolver. */
  readonly issuers: ReadonlyMap<string, GetKey>
  readonly audiences: readonly string[]
  readonly algorithms: readonly string[]
  /** Seconds of leeway for `exp`, `nbf` and `iat`. */
  readonly clockTolerance: number
  /** Seconds; tokens issued longer ago are rejected. */
  readonly maxTokenAge: number | undefined
  /** Require `typ: at+jwt` (RFC 9068). */
  readonly strict: boolean
}

/** A verified JWT: its protected header's algorithm and its payload. */
export interface VerifiedJwt {
  readonly payload: JWTPayload
  readonly algorithm: string
}

// Members that only OpenID Connect ID tokens carry (OIDC Core §2, §3.3.2.11).
const ID_TOKEN_MEMBERS = ['nonce', 'at_hash', 'c_hash', 's_hash'] as const

/**
 * Verifies a JWT access token: algorithm allowlist (never `none`), `typ` (`at+jwt`, or in
 * non-strict mode also `JWT` or none — but never an OpenID ID token), signature with a key
 * of the token's own issuer (with several issuers, chosen by `iss` before any key is fetched),
 * exact `iss` and `aud`, required `exp`, `nbf`/`iat` with the clock tolerance, and the
 * maximum token age. Throws {@link TokenInvalidError} or {@link VerifierUnavailableError}.
 *
 * @example
 * const { payload } = await verifyJwt(token, policy, Date.now())
 */
export async function verifyJwt(
  token: string,
  policy: JwtPolicy,
  now: number,
): Promise<VerifiedJwt> {
  // With one issuer, jose decodes the header once and checks the algorithm allowlist; the
  // type is checked by the key resolver, before any key is looked up (see singleIssuer).
  const checked = policy.issuers.size > 1 ? inspect(token, policy) : undefined
  const single = checked === undefined ? singleIssuer(policy) : undefined
  const issuer = single === undefined ? (checked as { issuer: string }).issuer : single.issuer
  const getKey = single === undefined ? policy.issuers.get(issuer) : single.getKey
  if (getKey === undefined) throw new TokenInvalidError('issuer_mismatch')
  const options: JWTVerifyOptions = {
    issuer,
    audience: policy.audiences as string[],
    algorithms: policy.algorithms as string[],
    clockTolerance: policy.clockTolerance,
    requiredClaims: REQUIRED_CLAIMS,
    currentDate: new Date(now),
    maxTokenAge: policy.maxTokenAge, // undefined is no limit to jose
  }
  try {
    let result: JWTVerifyResult
    try {
      result = await jwtVerify(token, getKey, options)
    } catch (error) {
      if (!(error instanceof joseErrors.JWKSMultipleMatchingKeys)) throw error
      result = await verifyWithCandidates(token, error, options)
    }
    const header = result.protectedHeader
    // With one issuer the payload was not decoded before verification: the ID-token check
    // runs on the verified payload instead (jose checks `iss` exactly either way).
    if (checked?.payload === undefined) checkType(header.typ, result.payload, policy.strict)
    const iat = result.payload.iat
    // jose checks `iat` only against maxTokenAge; a token issued in the future is refused too.
    if (iat !== undefined && iat > now / 1000 + policy.clockTolerance) {
      throw new TokenInvalidError('not_yet_valid')
    }
    return { payload: result.payload, algorithm: header.alg }
  } catch (error) {
    // jose checks the header in its own order; a token it refused is checked again in ours
    // (malformed, algorithm, type), so that each token keeps the reason it always had.
    if (checked === undefined) inspect(token, policy)
    throw toVerificationError(error)
  }
}

const REQUIRED_CLAIMS = ['exp']
const singleIssuers = new WeakMap<JwtPolicy, { issuer: string; getKey: GetKey }>()

/**
 * The issuer of a single-issuer policy and its key resolver, which jose calls once the header
 * is decoded and its algorithm allowed: it refuses a token of the wrong type before any key
 * is looked up (so before any key set is fetched). Built once per policy.
 */
function singleIssuer(policy: JwtPolicy): { issuer: string; getKey: GetKey } {
  let single = singleIssuers.get(policy)
  if (single === undefined) {
    const [issuer, getKey] = policy.issuers.entries().next().value as [string, GetKey]
    single = {
      issuer,
      getKey: (header, token) => {
        checkHeaderType(header.typ, policy.strict)
        return getKey(header, token)
      },
    }
    singleIssuers.set(policy, single)
  }
  return single
}

/**
 * When several published keys match a token without `kid` (during a rotation, say), jwtVerify
 * with each candidate in turn, as jose's error allows.
 */
async function verifyWithCandidates(
  token: string,
  error: InstanceType<typeof joseErrors.JWKSMultipleMatchingKeys>,
  options: JWTVerifyOptions,
): Promise<JWTVerifyResult> {
  const candidates = error as unknown as AsyncIterable<Parameters<typeof jwtVerify>[1]>
  for await (const key of candidates) {
    try {
      return await jwtVerify(token, key, options)
    } catch (inner) {
      if (!(inner instanceof joseErrors.JWSSignatureVerificationFailed)) throw inner
    }
  }
  throw new joseErrors.JWSSignatureVerificationFailed()
}

/**
 * What is checked before any key is looked at: the header's algorithm and type and, when
 * several issuers are accepted, the token's `iss` (to pick that issuer's keys). With a single
 * issuer the payload is left to jose (decoding it twice is a tenth of a verification), and
 * this runs only for a token jose refused, to give the reason these checks would give first.
 */
function inspect(
  token: string,
  policy: JwtPolicy,
): { header: { alg: string; typ: unknown }; issuer: string; payload: JWTPayload | undefined } {
  let header: ReturnType<typeof decodeProtectedHeader>
  let payload: JWTPayload | undefined
  try {
    header = decodeProtectedHeader(token)
    if (policy.issuers.size > 1) payload = decodeJwt(token)
  } catch (cause) {
    throw new TokenInvalidError('malformed', { cause })
  }
  const alg = header.alg
  if (typeof alg !== 'string' || !policy.algorithms.includes(alg)) {
    throw new TokenInvalidError('algorithm_not_allowed')
  }
  if (payload === undefined) {
    checkHeaderType(header.typ, policy.strict)
    const [only] = policy.issuers.keys()
    return { header: { alg, typ: header.typ }, issuer: only as string, payload }
  }
  checkType(header.typ, payload, policy.strict)
  const issuer = payload.iss
  if (typeof issuer !== 'string') throw new TokenInvalidError('issuer_mismatch')
  return { header: { alg, typ: header.typ }, issuer, payload }
}

/** The header part of {@link checkType}: an access-token type, or (not strict) JWT or none. */
function checkHeaderType(typ: unknown, strict: boolean): void {
  if (typ === 'at+jwt') return // the usual spelling, without a lower-cased copy
  const type = typeof typ === 'string' ? typ.toLowerCase() : typ
  if (type === 'at+jwt' || type === 'application/at+jwt') return
  if (strict || (type !== undefined && type !== 'jwt' && type !== 'application/jwt')) {
    throw new TokenInvalidError('type_not_allowed')
  }
}

function checkType(typ: unknown, payload: JWTPayload, strict: boolean): void {
  if (typ === 'at+jwt') return
  checkHeaderType(typ, strict)
  const type = typeof typ === 'string' ? typ.toLowerCase() : typ
  if (type === 'at+jwt' || type === 'application/at+jwt') return
  // Without an explicit access-token type, an ID token must still never pass as one.
  if (ID_TOKEN_MEMBERS.some((member) => Object.hasOwn(payload, member))) {
    throw new TokenInvalidError('id_token')
  }
}

function toVerificationError(error: unknown): Error {
  if (error instanceof TokenInvalidError || error instanceof VerifierUnavailableError) return error
  return new TokenInvalidError(rejectionOf(error), { cause: error })
}

function rejectionOf(error: unknown): TokenRejection {
  if (error instanceof joseErrors.JWTExpired) return error.claim === 'iat' ? 'too_old' : 'expired'
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return 'issuer_mismatch'
    if (error.claim === 'aud') return 'audience_mismatch'
    if (error.claim === 'nbf') return 'not_yet_valid'
    return 'claim_invalid'
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'algorithm_not_allowed'
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'signature_invalid'
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'key_not_found'
  return 'malformed'
}
