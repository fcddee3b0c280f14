import { ScopeguardConfigError } from '../errors.js'
import { DEFAULT_DPOP_ALGORITHMS, type DpopOptions } from '../options.js'
import { createNonceSource, randomNonceSecret } from './nonce.js'
import type { DpopPolicy } from './verify-proof.js'

const ASYMMETRIC = new Set(DEFAULT_DPOP_ALGORITHMS)
const MODES = new Set(['disabled', 'allowed', 'required'])

/**
 * Checks the `dpop` options and builds the proof policy; undefined when DPoP is `disabled`.
 * Throws a `ScopeguardConfigError` that says what to change.
 *
 * @example
 * const policy = resolveDpop({ mode: 'required' }, 5, Date.now) // => { mode: 'required', iatWindow: 60, … }
 */
export function resolveDpop(
  options: DpopOptions | undefined,
  clockTolerance: number,
): DpopPolicy | undefined {
  if (options !== undefined && (options === null || typeof options !== 'object'))
    throw new ScopeguardConfigError(
      'dpop must be an object: { mode, algorithms, iatWindow, nonce, origin }',
    )
  const mode = options?.mode ?? 'allowed'
  if (!MODES.has(mode))
    throw new ScopeguardConfigError('dpop.mode must be "disabled", "allowed" or "required"')
  if (mode === 'disabled') return undefined
  return Object.freeze({
    mode: mode as 'allowed' | 'required',
    algorithms: Object.freeze(checkAlgorithms(options?.algorithms)),
    iatWindow: positive('dpop.iatWindow', options?.iatWindow, 60),
    clockTolerance,
    nonce: checkNonce(options?.nonce),
    origin: options?.origin === undefined ? undefined : checkOrigin(options.origin),
  })
}

function checkAlgorithms(value: readonly string[] | undefined): string[] {
  if (value === undefined) return [...DEFAULT_DPOP_ALGORITHMS]
  if (!Array.isArray(value) || value.length === 0)
    throw new ScopeguardConfigError('dpop.algorithms must be a non-empty list of JWS algorithms')
  for (const alg of value as unknown[]) {
    if (typeof alg !== 'string' || !ASYMMETRIC.has(alg)) {
      throw new ScopeguardConfigError(
        `dpop.algorithms: ${JSON.stringify(alg)} is not an asymmetric JWS algorithm (use ${DEFAULT_DPOP_ALGORITHMS.join(', ')}); none and HS* are never accepted`,
      )
    }
  }
  return [...value]
}

function checkNonce(value: DpopOptions['nonce']): DpopPolicy['nonce'] {
  if (value === undefined) return undefined
  if (value === true) return createNonceSource(randomNonceSecret(), 300_000)
  if (value === null || typeof value !== 'object')
    throw new ScopeguardConfigError('dpop.nonce must be true or { secret, lifetime }')
  const lifetime = positive('dpop.nonce.lifetime', value.lifetime, 300)
  const secret =
    value.secret === undefined
      ? randomNonceSecret()
      : typeof value.secret === 'string'
        ? new TextEncoder().encode(value.secret)
        : value.secret
  if (!(secret instanceof Uint8Array) || secret.length < 32)
    throw new ScopeguardConfigError(
      'dpop.nonce.secret must be a string or Uint8Array of at least 32 bytes, the same on every instance',
    )
  return createNonceSource(secret, lifetime * 1000)
}

function checkOrigin(value: unknown): string {
  let url: URL | undefined
  try {
    url = typeof value === 'string' ? new URL(value) : undefined
  } catch {
    url = undefined
  }
  if (
    url === undefined ||
    (url.protocol !== 'https:' && url.protocol !== 'http:') ||
    url.pathname !== '/' ||
    url.search !== '' ||
    url.hash !== '' ||
    url.username !== '' ||
    url.password !== ''
  ) {
    throw new ScopeguardConfigError(
      `dpop.origin must be the public origin of this API, like "https://api.example.com" (scheme and host only), got ${JSON.stringify(value)}`,
    )
  }
  return url.origin
}

function positive(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    throw new ScopeguardConfigError(`${option} must be a positive number of seconds`)
  return value
}
