import {
  createLocalJWKSet,
  errors as joseErrors,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWSHeaderParameters,
} from 'jose'
import createDebug from 'debug'
import { TokenInvalidError, VerifierUnavailableError } from '../errors.js'
import { fetchJson, type FetchLike } from './fetch-json.js'

const debug = createDebug('scopeguard:jwks')
const FAILURE_BACKOFF = 1000

type KeyResult = Awaited<ReturnType<ReturnType<typeof createLocalJWKSet>>>

/** A resolver of verification keys as `jwtVerify` takes it. */
export type GetKey = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<KeyResult>

/** Timing of a remote key set, in milliseconds. */
export interface KeySetTiming {
  /** How long a fetched key set is used before it is refreshed in the background. */
  readonly cacheMaxAge: number
  /** How long past `cacheMaxAge` known keys keep working while the endpoint cannot be reached. */
  readonly staleMaxAge: number
  /** Least time between two fetches caused by an unknown `kid` (or by failures). */
  readonly cooldown: number
  /** Deadline of one fetch. */
  readonly timeout: number
}

/** The counter a key source increments on every fetch it starts. */
export interface KeySourceStats {
  keyFetches: number
}

/**
 * Creates a resolver over a remote JWKS that is resilient the way a resource server needs:
 * concurrent callers share one in-flight fetch; an unknown `kid` causes at most one refetch
 * per cooldown; known keys keep working for a bounded stale period while the endpoint is
 * down; and when no key can be had at all, it throws {@link VerifierUnavailableError}
 * (answered with 503), never a token error.
 *
 * @example
 * const getKey = createRemoteKeySource(async () => new URL(jwksUri), { fetch, timing, clock, stats })
 * await jwtVerify(token, getKey, { issuer, audience })
 */
export function createRemoteKeySource(
  locate: () => Promise<URL>,
  io: { fetch: FetchLike; clock: () => number; timing: KeySetTiming; stats: KeySourceStats },
): GetKey {
  const { timing, stats, clock } = io
  let keys: ReturnType<typeof createLocalJWKSet> | undefined
  let fetchedAt = -Infinity
  let lastAttempt = -Infinity
  let lastFailed = false
  let inflight: Promise<void> | undefined

  const refresh = (): Promise<void> => {
    inflight ??= (async () => {
      lastAttempt = clock()
      stats.keyFetches++
      try {
        const url = await locate()
        const body = await fetchJson(io.fetch, url, timing.timeout)
        if (!Array.isArray(body['keys'])) throw new Error(`${url.href} has no "keys" array`)
        keys = createLocalJWKSet(body as unknown as JSONWebKeySet)
        fetchedAt = clock()
        lastFailed = false
        debug('fetched %d keys from %s', body['keys'].length, url.href)
      } catch (error) {
        lastFailed = true
        debug('key set fetch failed: %O', error)
        throw error
      } finally {
        inflight = undefined
      }
    })()
    return inflight
  }

  const refreshOrUnavailable = async (why: string): Promise<void> => {
    // After a failure, callers fail fast for a moment instead of piling onto a dead endpoint.
    if (inflight === undefined && lastFailed && clock() - lastAttempt < FAILURE_BACKOFF) {
      throw new VerifierUnavailableError(why)
    }
    try {
      await refresh()
    } catch (cause) {
      throw new VerifierUnavailableError(why, { cause })
    }
  }

  return async (header, token) => {
    const now = clock()
    if (keys === undefined || now - fetchedAt > timing.cacheMaxAge + timing.staleMaxAge) {
      await refreshOrUnavailable('no usable verification keys: the key set could not be fetched')
    } else if (now - fetchedAt > timing.cacheMaxAge && now - lastAttempt >= FAILURE_BACKOFF) {
      refresh().catch(() => undefined) // stale-while-revalidate: known keys keep serving
    }
    const current = keys as ReturnType<typeof createLocalJWKSet>
    try {
      return await current(header, token)
    } catch (error) {
      if (!(error instanceof joseErrors.JWKSNoMatchingKey)) throw error
      // An unknown kid refetches at most once per cooldown. Within it, the answer depends on
      // what the last fetch said: a fresh key set that lacks the kid means a bad token; a
      // failed fetch means the key cannot be checked now (503).
      if (inflight === undefined && clock() - lastAttempt < timing.cooldown) {
        if (lastFailed)
          throw new VerifierUnavailableError('unknown kid and the key set is unreachable', {
            cause: error,
          })
        throw new TokenInvalidError('key_not_found', { cause: error })
      }
      await refreshOrUnavailable('unknown kid and the key set could not be refreshed')
      try {
        return await (keys as ReturnType<typeof createLocalJWKSet>)(header, token)
      } catch (retryError) {
        if (retryError instanceof joseErrors.JWKSNoMatchingKey) {
          throw new TokenInvalidError('key_not_found', { cause: retryError })
        }
        throw retryError
      }
    }
  }
}

/**
 * Creates a resolver over a static key set given in the options.
 *
 * @example
 * const getKey = createStaticKeySource({ keys: [publicJwk] })
 */
export function createStaticKeySource(jwks: JSONWebKeySet): GetKey {
  return createLocalJWKSet(jwks)
}
