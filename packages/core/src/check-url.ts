import { isIP } from 'node:net'
import { ScopeguardConfigError } from './errors.js'

/**
 * Checks a URL from the options at start-up: `https:` anywhere, `http:` only on a loopback
 * host (127.0.0.0/8, ::1, localhost) for local development and tests.
 *
 * @example
 * checkServerUrl('issuer', 'http://127.0.0.1:4000') // => URL
 * checkServerUrl('issuer', 'http://auth.example.com') // throws ScopeguardConfigError
 */
export function checkServerUrl(option: string, value: unknown): URL {
  if (typeof value !== 'string' || value === '') {
    throw new ScopeguardConfigError(`${option} must be a non-empty URL string`)
  }
  let url: URL
  try {
    url = new URL(value)
  } catch (cause) {
    throw new ScopeguardConfigError(`${option} ${JSON.stringify(value)} is not a valid URL`, {
      cause,
    })
  }
  if (url.protocol === 'https:') return url
  if (url.protocol === 'http:' && isLoopback(url.hostname)) return url
  if (url.protocol === 'http:') {
    throw new ScopeguardConfigError(
      `${option} ${JSON.stringify(value)} uses plain http on a non-loopback host: tokens and keys would travel unprotected. Use https (plain http is accepted only for 127.0.0.1, ::1 and localhost)`,
    )
  }
  throw new ScopeguardConfigError(`${option} ${JSON.stringify(value)} must be an https URL`)
}

/** Whether a URL hostname names the local machine. */
export function isLoopback(hostname: string): boolean {
  const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname
  if (host === 'localhost' || host.endsWith('.localhost')) return true
  if (isIP(host) === 4) return host.startsWith('127.')
  return host === '::1'
}
