import { describe, expect, it } from 'vitest'
import { readScopes } from '../src/index.js'

describe('readScopes', () => {
  it('reads the space-delimited scope claim (RFC 6749 §3.3, RFC 9068)', () => {
    expect([...readScopes({ scope: 'read:items  write:items' })]).toEqual([
      'read:items',
      'write:items',
    ])
  })

  it('falls back to scp as a string or an array', () => {
    expect([...readScopes({ scp: 'a b' })]).toEqual(['a', 'b'])
    expect([...readScopes({ scp: ['a', 'b', 3, null] })]).toEqual(['a', 'b'])
    expect([...readScopes({ scope: 'a', scp: ['b'] })]).toEqual(['a'])
  })

  it('reads a configured claim or function', () => {
    expect([...readScopes({ permissions: ['read:items'] }, 'permissions')]).toEqual(['read:items'])
    expect([
      ...readScopes({ roles: 'x' }, (claims) => [`role:${String(claims['roles'])}`]),
    ]).toEqual(['role:x'])
  })

  it('drops entries outside the scope-token grammar so they can never match', () => {
    const hostile = [
      'read:items\twrite:items',
      'admin\n',
      'adm\u0000in',
      'admin\u00a0',
      'аdmin',
      'a"b',
      'a\\b',
      '',
    ]
    expect([...readScopes({ scp: hostile })]).toEqual([])
    expect([...readScopes({ scope: 'read:items\twrite:items admin\u00a0 ok' })]).toEqual(['ok'])
  })

  it('reads only own members, never inherited ones', () => {
    const claims = Object.create({ scope: 'admin' }) as Record<string, unknown>
    expect([...readScopes(claims)]).toEqual([])
    expect([
      ...readScopes(JSON.parse('{"__proto__": {"scope": "admin"}}') as Record<string, unknown>),
    ]).toEqual([])
  })

  it('ignores a scope claim of the wrong type', () => {
    expect([...readScopes({ scope: 42 })]).toEqual([])
    expect([...readScopes({ scope: { admin: true } })]).toEqual([])
  })
})
