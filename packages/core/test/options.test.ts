import { describe, expect, it } from 'vitest'
import { createGuard, ScopeguardConfigError, type ScopeguardOptions } from '../src/index.js'

const base = { issuer: 'https://auth.example.com', audience: 'https://api.example.com' }

function startupError(options: unknown): string {
  try {
    createGuard(options as ScopeguardOptions)
  } catch (error) {
    expect(error).toBeInstanceOf(ScopeguardConfigError)
    expect((error as ScopeguardConfigError).code).toBe('ERR_SG_CONFIG')
    return (error as Error).message
  }
  throw new Error('expected a start-up error')
}

describe('options are checked at start-up', () => {
  it('requires issuer and audience', () => {
    expect(startupError({ audience: 'x' })).toMatch(/issuer is required/)
    expect(startupError({ issuer: base.issuer })).toMatch(/audience is required/)
    expect(startupError({ ...base, audience: [] })).toMatch(/audience is required/)
  })

  it('accepts plain http only on loopback hosts', () => {
    expect(() => createGuard({ ...base, issuer: 'http://127.0.0.1:4000' })).not.toThrow()
    expect(() => createGuard({ ...base, issuer: 'http://localhost:4000' })).not.toThrow()
    expect(() => createGuard({ ...base, issuer: 'http://[::1]:4000' })).not.toThrow()
    expect(startupError({ ...base, issuer: 'http://auth.example.com' })).toMatch(
      /plain http on a non-loopback host/,
    )
    expect(startupError({ ...base, issuer: 'http://127.0.0.1.nip.io' })).toMatch(/plain http/)
    expect(startupError({ ...base, jwksUri: 'http://10.0.0.1/jwks' })).toMatch(
      /jwksUri .* plain http/,
    )
    expect(startupError({ ...base, issuer: 'ftp://auth.example.com' })).toMatch(
      /must be an https URL/,
    )
  })

  it('never accepts none, and HMAC only with an explicit secret', () => {
    expect(startupError({ ...base, algorithms: ['RS256', 'none'] })).toMatch(
      /must not include "none"/,
    )
    expect(startupError({ ...base, algorithms: ['NONE'] })).toMatch(/must not include "none"/)
    expect(startupError({ ...base, algorithms: ['HS256'] })).toMatch(/needs the shared secret/)
    expect(startupError({ ...base, secret: 'x'.repeat(32) })).toMatch(/lists no HS256/)
    expect(startupError({ ...base, secret: 'short', algorithms: ['HS256'] })).toMatch(
      /at least 32 bytes/,
    )
    expect(startupError({ ...base, algorithms: ['RS1'] })).toMatch(/unknown JWS algorithm/)
  })

  it('refuses private keys among static keys, and bad numbers', () => {
    expect(startupError({ ...base, keys: { keys: [{ kty: 'EC', d: 'secret' }] } })).toMatch(
      /public keys only/,
    )
    expect(startupError({ ...base, clockTolerance: -1 })).toMatch(
      /clockTolerance must be a number ≥ 0/,
    )
    expect(startupError({ ...base, maxTokenLength: 0 })).toMatch(
      /maxTokenLength must be a positive number/,
    )
    expect(startupError({ ...base, realm: 'a"b' })).toMatch(/realm/)
    expect(startupError({ ...base, introspection: { clientId: 'x' } })).toMatch(
      /clientId and clientSecret/,
    )
  })
})
