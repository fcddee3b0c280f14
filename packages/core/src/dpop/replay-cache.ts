/** Remembers keys for a while, to refuse the second use of a one-time value. */
export interface ReplayCache {
  /**
   * Records `key` for `ttlMs` and returns true, or returns false if it is already recorded.
   * Throws when the cache is full of live keys: the caller must then refuse (503), since
   * forgetting a live key would let its replay through.
   */
  claimOnce(key: string, ttlMs: number): boolean
  clear(): void
}

/**
 * A bounded, expiring set of keys in this process (DPoP proof `jti`s, RFC 9449 §11.1).
 * Expired keys are dropped as new ones arrive; at `maxEntries` live keys, new claims throw.
 *
 * @example
 * const seen = createReplayCache(100_000, Date.now)
 * if (!seen.claimOnce(`${jkt}:${jti}`, 70_000)) refuse('replayed')
 */
export function createReplayCache(maxEntries: number, clock: () => number): ReplayCache {
  const entries = new Map<string, number>() // key → expiry (epoch ms), in insertion order
  const sweep = (now: number, budget: number): void => {
    // Oldest first; entries mostly expire in insertion order, so the scan stops early.
    for (const [key, expiresAt] of entries) {
      if (expiresAt > now && budget-- <= 0) break
      if (expiresAt <= now) entries.delete(key)
    }
  }
  return {
    claimOnce(key, ttlMs) {
      const now = clock()
      const expiresAt = entries.get(key)
      if (expiresAt !== undefined && expiresAt > now) return false
      sweep(now, 8)
      if (entries.size >= maxEntries) {
        sweep(now, Infinity)
        if (entries.size >= maxEntries)
          throw new Error(`the replay cache is full (${maxEntries} live entries)`)
      }
      entries.delete(key)
      entries.set(key, now + ttlMs)
      return true
    },
    clear: () => entries.clear(),
  }
}
