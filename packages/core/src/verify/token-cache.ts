import { hash } from 'node:crypto'

/**
 * The fingerprint of a token: a SHA-256 of the whole token, safe to log and correlate
 * (`auth.token.fingerprint`). Computed once per verification, never per cached request.
 */
export function tokenFingerprint(token: string): string {
  return hash('sha256', token, 'base64url') // one-shot: about half the cost of createHash on the hot path
}

interface Entry<T> {
  /** The whole token: a hit needs the exact token, not only its bucket. */
  readonly token: string
  readonly value: Promise<T>
  /** The result once verification has succeeded: cache hits are then answered synchronously. */
  settled: T | undefined
  /** Epoch milliseconds after which the entry is gone; Infinity while in flight. */
  expiresAt: number
  /** When a hit last made the entry the most recent (epoch ms). */
  refreshedAt: number
}

/** Characters of a token's end that name its bucket. */
const BUCKET = 32

/**
 * The bucket of a token: its last 32 characters (in a JWT, signature bytes). A Map keyed by
 * the whole token would hash every character of each request's fresh string, which costs as
 * much as a SHA-256; the bucket hashes 32, and a hit then compares the whole token exactly.
 */
const bucketOf = (token: string): string => (token.length <= BUCKET ? token : token.slice(-BUCKET))

/**
 * A bounded LRU of verification results. An entry is found only by the exact token it was
 * made for: no two tokens ever share a result, whatever an attacker sends. Entries are
 * filed under the token's bucket; a token whose bucket holds another live token (a
 * look-alike of a cached token that shares its signature, or a rare coincidence) is filed
 * under its whole self in a second, smaller LRU instead, so it neither evicts nor shares the
 * other's entry. It holds the in-flight promise, so a burst of requests with one new token
 * verifies it once; a rejected verification is removed at once (errors are never cached); a
 * settled entry never outlives the expiry the caller gives it (the token's `exp` at the
 * latest). Recency is refreshed at most once a second per entry, so a token reused many
 * times a second costs no reordering.
 *
 * @example
 * const cache = createTokenCache<Principal>(10_000, Date.now)
 * const principal = cache.peek(token) ?? (await cache.get(token, verify, (p) => p.expiresAt).value)
 */
export function createTokenCache<T>(maxEntries: number, clock: () => number) {
  const byBucket = new Map<string, Entry<T>>()
  const byToken = new Map<string, Entry<T>>()
  const maxByToken = Math.min(maxEntries, Math.max(16, Math.ceil(maxEntries / 10)))

  const find = (
    token: string,
  ): { map: Map<string, Entry<T>>; key: string; entry: Entry<T> } | undefined => {
    const key = bucketOf(token)
    const entry = byBucket.get(key)
    if (entry !== undefined && entry.token === token) return { map: byBucket, key, entry }
    const other = byToken.size === 0 ? undefined : byToken.get(token)
    return other === undefined ? undefined : { map: byToken, key: token, entry: other }
  }
  const refresh = (map: Map<string, Entry<T>>, key: string, entry: Entry<T>, now: number): void => {
    if (now - entry.refreshedAt < 1000) return
    entry.refreshedAt = now
    map.delete(key)
    map.set(key, entry)
  }
  const remove = (map: Map<string, Entry<T>>, key: string, entry: Entry<T>): void => {
    if (map.get(key) === entry) map.delete(key)
  }

  return {
    /**
     * The settled result for `token` if there is a fresh one, without waiting: the hot path
     * of a reused token costs no promise and no microtask.
     */
    peek(token: string): T | undefined {
      const found = find(token)
      if (found === undefined || found.entry.settled === undefined) return undefined
      const now = clock()
      if (now < found.entry.expiresAt) {
        refresh(found.map, found.key, found.entry, now)
        return found.entry.settled
      }
      found.map.delete(found.key)
      return undefined
    },
    /**
     * Returns the cached result for `token`, or runs `load` once and caches its promise until
     * `expiry(result)` (epoch ms).
     */
    get(
      token: string,
      load: () => Promise<T>,
      expiry: (value: T) => number,
    ): { value: Promise<T>; hit: boolean } {
      // One bucket lookup serves both the hit and, on a miss, where the new entry is filed.
      const bucket = bucketOf(token)
      const holder = byBucket.get(bucket)
      let found: Entry<T> | undefined
      let foundIn = byBucket
      let foundAt = bucket
      if (holder !== undefined && holder.token === token) found = holder
      else if (byToken.size !== 0) {
        found = byToken.get(token)
        foundIn = byToken
        foundAt = token
      }
      const now = clock()
      if (found !== undefined) {
        if (now < found.expiresAt) {
          refresh(foundIn, foundAt, found, now)
          return { value: found.value, hit: true }
        }
        foundIn.delete(foundAt)
      }
      // Filed under its bucket unless another live token has it.
      const own = holder === undefined || holder.token === token || now >= holder.expiresAt
      const map = own ? byBucket : byToken
      const key = own ? bucket : token
      const entry: Entry<T> = {
        token,
        value: load(),
        settled: undefined,
        expiresAt: Infinity,
        refreshedAt: now,
      }
      map.set(key, entry)
      if (map.size > (map === byBucket ? maxEntries : maxByToken)) {
        const oldest = map.keys().next().value as string
        map.delete(oldest)
      }
      entry.value.then(
        (value) => {
          entry.expiresAt = expiry(value)
          if (clock() >= entry.expiresAt) remove(map, key, entry)
          else entry.settled = value
        },
        () => remove(map, key, entry),
      )
      return { value: entry.value, hit: false }
    },
    /** Entries held (both LRUs). */
    get size(): number {
      return byBucket.size + byToken.size
    },
    clear(): void {
      byBucket.clear()
      byToken.clear()
    },
  }
}

/** The cache type returned by {@link createTokenCache}. */
export type TokenCache<T> = ReturnType<typeof createTokenCache<T>>
