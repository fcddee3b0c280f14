import { describe, expect, it } from 'vitest'
import { extractToken, type ScopeguardRequest, type TokenTransports } from '../src/index.js'

const headerOnly: TokenTransports = { header: true, query: false, formBody: false }
const all: TokenTransports = { header: true, query: true, formBody: true }
const form = 'application/x-www-form-urlencoded'

function request(partial: Partial<ScopeguardRequest>): ScopeguardRequest {
  return { method: 'GET', headers: {}, ...partial }
}

describe('extractToken (RFC 6750 §2)', () => {
  it('reads a Bearer token, scheme case-insensitive (§2.1, RFC 7235 §2.1)', () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      const found = extractToken(
        request({ headers: { authorization: `${scheme} abc.DEF-_~+/=` } }),
        headerOnly,
        100,
      )
      expect(found).toEqual({ kind: 'token', token: 'abc.DEF-_~+/=' })
    }
  })

  it('treats no header and other schemes as no token', () => {
    expect(extractToken(request({}), headerOnly, 100)).toEqual({ kind: 'none' })
    expect(
      extractToken(request({ headers: { authorization: 'Basic dXNlcjpwYXNz' } }), headerOnly, 100),
    ).toEqual({ kind: 'none' })
    expect(
      extractToken(request({ headers: { authorization: 'Bearerabc' } }), headerOnly, 100),
    ).toEqual({ kind: 'none' })
  })

  it('rejects malformed Bearer credentials as invalid_token', () => {
    for (const value of [
      'Bearer',
      'Bearer ',
      'Bearer  abc',
      'Bearer a b',
      'Bearer a\tb',
      'Bearer ab=c',
      'Bearer "abc"',
      'Bearer abc,def',
      'Bearer é',
    ]) {
      expect(
        extractToken(request({ headers: { authorization: value } }), headerOnly, 100),
        value,
      ).toEqual({
        kind: 'invalid_token',
        detail: 'malformed',
      })
    }
  })

  it('rejects oversize tokens before parsing them', () => {
    const token = 'a'.repeat(101)
    expect(
      extractToken(request({ headers: { authorization: `Bearer ${token}` } }), headerOnly, 100),
    ).toEqual({
      kind: 'invalid_token',
      detail: 'too_large',
    })
    const huge = `Bearer ${'!'.repeat(100_000)}`
    expect(extractToken(request({ headers: { authorization: huge } }), headerOnly, 100)).toEqual({
      kind: 'invalid_token',
      detail: 'too_large',
    })
  })

  it('refuses two Authorization headers as invalid_request', () => {
    const rawHeaders = ['Authorization', 'Bearer a', 'authorization', 'Bearer b']
    expect(
      extractToken(
        request({ rawHeaders, headers: { authorization: 'Bearer a' } }),
        headerOnly,
        100,
      ),
    ).toEqual({
      kind: 'invalid_request',
      detail: 'more than one Authorization header',
    })
  })

  it('ignores query and body tokens unless enabled', () => {
    const req = request({
      method: 'POST',
      query: 'access_token=abc',
      headers: { 'content-type': form },
      body: { access_token: 'def' },
    })
    expect(extractToken(req, headerOnly, 100)).toEqual({ kind: 'none' })
  })

  it('reads query (§2.3) and form-body (§2.2) tokens when enabled', () => {
    expect(extractToken(request({ query: 'x=1&access_token=abc' }), all, 100)).toEqual({
      kind: 'token',
      token: 'abc',
    })
    const post = request({
      method: 'POST',
      headers: { 'content-type': `${form}; charset=utf-8` },
      body: { access_token: 'def' },
    })
    expect(extractToken(post, all, 100)).toEqual({ kind: 'token', token: 'def' })
  })

  it('never reads a body token from GET or from a body that is not form-encoded', () => {
    const get = request({ headers: { 'content-type': form }, body: { access_token: 'def' } })
    expect(extractToken(get, all, 100)).toEqual({ kind: 'none' })
    const json = request({
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: { access_token: 'def' },
    })
    expect(extractToken(json, all, 100)).toEqual({ kind: 'none' })
  })

  it('refuses more than one method, or one parameter twice, as invalid_request (§2)', () => {
    const both = request({ query: 'access_token=abc', headers: { authorization: 'Bearer abc' } })
    expect(extractToken(both, all, 100).kind).toBe('invalid_request')
    const twice = request({ query: 'access_token=abc&access_token=abc' })
    expect(extractToken(twice, all, 100).kind).toBe('invalid_request')
    const headerAndBody = request({
      method: 'POST',
      headers: { authorization: 'Bearer a', 'content-type': form },
      body: { access_token: 'b' },
    })
    expect(extractToken(headerAndBody, all, 100).kind).toBe('invalid_request')
  })

  it('does not read access_token from an inherited body member', () => {
    const body = Object.create({ access_token: 'inherited' }) as object
    const post = request({ method: 'POST', headers: { 'content-type': form }, body })
    expect(extractToken(post, all, 100)).toEqual({ kind: 'none' })
  })
})
