import { describe, expect, it } from 'vitest'
import {
  compileRequirement,
  missingScopes,
  satisfies,
  ScopeguardConfigError,
} from '../src/index.js'

const set = (...scopes: string[]): ReadonlySet<string> => new Set(scopes)

describe('compileRequirement', () => {
  it('treats an array and juxtaposed scopes as all-of', () => {
    for (const input of [
      ['read:items', 'write:items'],
      'read:items write:items',
      'read:items and write:items',
    ]) {
      const requirement = compileRequirement(input)
      expect(requirement.alternatives).toEqual([['read:items', 'write:items']])
      expect(satisfies(requirement, set('read:items'))).toBe(false)
      expect(satisfies(requirement, set('read:items', 'write:items'))).toBe(true)
    }
  })

  it('gives and precedence over or, and honours parentheses', () => {
    const requirement = compileRequirement('a or b and c')
    expect(requirement.alternatives).toEqual([['a'], ['b', 'c']])
    expect(requirement.source).toBe('a or b and c')
    const grouped = compileRequirement('(a or b) and c')
    expect(grouped.alternatives).toEqual([
      ['a', 'c'],
      ['b', 'c'],
    ])
    expect(grouped.source).toBe('(a or b) and c')
    expect(satisfies(grouped, set('a'))).toBe(false)
    expect(satisfies(grouped, set('b', 'c'))).toBe(true)
  })

  it('names the first alternative in the challenge and the closest one as missing', () => {
    const requirement = compileRequirement('delete:items or admin')
    expect(requirement.challengeScope).toBe('delete:items')
    expect(missingScopes(requirement, set('read:items'))).toEqual(['delete:items'])
    const closest = compileRequirement('(a and b and c) or (d and e)')
    expect(missingScopes(closest, set('a', 'd'))).toEqual(['e'])
    expect(missingScopes(closest, set('d', 'e'))).toEqual([])
  })

  it('compares scopes exactly and case-sensitively', () => {
    const requirement = compileRequirement('read:items')
    expect(satisfies(requirement, set('READ:ITEMS'))).toBe(false)
    expect(satisfies(requirement, set('read:items '))).toBe(false)
    expect(satisfies(requirement, set('read:*'))).toBe(false)
  })

  it('throws at start-up with the position of a syntax error', () => {
    const cases: [string, RegExp][] = [
      ['', /must not be empty/],
      ['a or', /position 5: expected a scope/],
      ['(a or b', /position 8: expected "\)"/],
      ['a) or b', /position 2: unexpected "\)"/],
      ['and a', /position 1: unexpected "and"/],
      ['a or or b', /position 6: unexpected "or"/],
      ['a AND b', /position 3: write the operator "AND" in lower case/],
      ['read"items', /position 1: "read"items" is not a valid scope token/],
    ]
    for (const [input, message] of cases) {
      expect(() => compileRequirement(input), input).toThrow(ScopeguardConfigError)
      expect(() => compileRequirement(input), input).toThrow(message)
    }
    expect(() => compileRequirement([])).toThrow(/at least one scope/)
    expect(() => compileRequirement(['ok', 'not ok'])).toThrow(/entry 1/)
  })

  it('bounds the expansion of a requirement', () => {
    const wide = Array.from({ length: 8 }, (_, i) => `(a${i} or b${i})`).join(' and ')
    expect(() => compileRequirement(wide)).toThrow(/too many alternatives/)
  })
})
