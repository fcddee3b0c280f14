import { createHmac, randomBytes } from 'node:crypto'

/** The DPoP nonce of the current time bucket, and the `DPoP-Nonce` header that carries it. */
export interface CurrentNonce {
  readonly nonce: string
  /** `{ 'dpop-nonce': nonce }`, frozen and shared until the bucket ends. */
  readonly headers: Readonly<Record<string, string>>
}

/** Issues and checks server-provided DPoP nonces (RFC 9449 §8, §9). */
export interface NonceSource {
  /** The nonce to hand out now. */
  current(now: number): CurrentNonce
  /** Whether `nonce` was issued by this source (any instance with the same secret) and is still fresh. */
  accepts(nonce: string, now: number): boolean
}

/**
 * Creates a stateless nonce source: a nonce is a time bucket and an HMAC of it under
 * `secret`, so every instance sharing the secret issues and accepts the same nonces without
 * talking to each other. A nonce is accepted in its own bucket and the next one: between
 * `lifetimeMs` and twice that after it was first handed out.
 *
 * @example
 * const nonces = createNonceSource(secret, 300_000)
 * response.setHeader('DPoP-Nonce', nonces.current(Date.now()).nonce)
 */
export function createNonceSource(secret: Uint8Array, lifetimeMs: number): NonceSource {
  const issued = new Map<number, CurrentNonce>()
  const nonceOf = (bucket: number): CurrentNonce => {
    let found = issued.get(bucket)
    if (found === undefined) {
      const mac = createHmac('sha256', secret)
        .update(`scopeguard-dpop-nonce:${bucket}`)
        .digest('base64url')
        .slice(0, 22)
      const nonce = `${bucket.toString(36)}.${mac}`
      found = Object.freeze({ nonce, headers: Object.freeze({ 'dpop-nonce': nonce }) })
      issued.set(bucket, found)
      // Only the current and the previous bucket are ever asked for again.
      for (const old of issued.keys()) if (old < bucket - 1) issued.delete(old)
    }
    return found
  }
  return {
    current: (now) => nonceOf(Math.floor(now / lifetimeMs)),
    accepts(nonce, now) {
      const bucket = Math.floor(now / lifetimeMs)
      return nonce === nonceOf(bucket).nonce || nonce === nonceOf(bucket - 1).nonce
    },
  }
}

/** A random secret for `nonce: true` (nonces of this process only). */
export function randomNonceSecret(): Uint8Array {
  return randomBytes(32)
}
