import { ScopeguardConfigError } from '../errors.js'
import { isScopeToken } from './scope-token.js'

/**
 * A scope requirement compiled once at start-up. `alternatives` is its disjunctive normal
 * form: the requirement holds when every scope of at least one alternative is granted.
 */
export interface ScopeRequirement {
  /** The requirement as written, normalized (`a and (b or c)`). */
  readonly source: string
  readonly alternatives: readonly (readonly string[])[]
  /** What the RFC 6750 `scope` attribute names: the first alternative, space-delimited. */
  readonly challengeScope: string
}

/** A requirement as users write it: an expression, or an array of scopes meaning all-of. */
export type RequirementInput = string | readonly string[]

const MAX_ALTERNATIVES = 64
const MAX_TERMS = 128

/**
 * Compiles a scope requirement. A string is an expression of scope tokens with `and`, `or`
 * and parentheses (`and` binds tighter than `or`); whitespace-separated scopes with no
 * operator between them mean all-of. An array means all of its scopes. Syntax errors throw a
 * {@link ScopeguardConfigError} naming the position.
 *
 * @example
 * const requirement = compileRequirement('delete:items or admin')
 * satisfies(requirement, new Set(['admin'])) // => true
 */
export function compileRequirement(input: RequirementInput): ScopeRequirement {
  const tree = typeof input === 'string' ? parseExpression(input) : arrayToTree(input)
  const alternatives = toAlternatives(tree)
  return Object.freeze({
    source: render(tree),
    alternatives,
    challengeScope: (alternatives[0] ?? []).join(' '),
  })
}

/**
 * Whether granted scopes satisfy a compiled requirement.
 *
 * @example
 * satisfies(compileRequirement(['read:items']), new Set(['read:items'])) // => true
 */
export function satisfies(requirement: ScopeRequirement, granted: ReadonlySet<string>): boolean {
  return requirement.alternatives.some((alternative) => alternative.every((s) => granted.has(s)))
}

/**
 * The scopes still missing for the alternative that is closest to being satisfied (the first
 * one when several are equally close). Empty when the requirement holds.
 *
 * @example
 * missingScopes(compileRequirement('a and b'), new Set(['a'])) // => ['b']
 */
export function missingScopes(
  requirement: ScopeRequirement,
  granted: ReadonlySet<string>,
): readonly string[] {
  let best: readonly string[] | undefined
  for (const alternative of requirement.alternatives) {
    const missing = alternative.filter((s) => !granted.has(s))
    if (best === undefined || missing.length < best.length) best = missing
    if (missing.length === 0) break
  }
  return best ?? []
}

type Tree =
  | { readonly op: 'scope'; readonly scope: string }
  | { readonly op: 'and' | 'or'; readonly items: readonly Tree[] }

function arrayToTree(input: readonly string[]): Tree {
  if (!Array.isArray(input) || input.length === 0) {
    throw new ScopeguardConfigError('a scope requirement needs at least one scope')
  }
  return {
    op: 'and',
    items: input.map((scope, index) => {
      if (typeof scope !== 'string' || !isScopeToken(scope) || isKeyword(scope)) {
        throw new ScopeguardConfigError(
          `scope requirement entry ${index} (${JSON.stringify(scope)}) is not a valid scope token (RFC 6749 §3.3)`,
        )
      }
      return { op: 'scope', scope }
    }),
  }
}

function isKeyword(word: string): boolean {
  return word === 'and' || word === 'or'
}

interface Token {
  readonly text: string
  readonly at: number
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = []
  const pattern = /\s*(\(|\)|[^\s()]+)/gy
  let match: RegExpExecArray | null
  let end = 0
  while ((match = pattern.exec(source)) !== null) {
    const text = match[1] ?? ''
    tokens.push({ text, at: match.index + match[0].length - text.length })
    end = pattern.lastIndex
  }
  if (source.slice(end).trim() !== '') fail(source, end, 'unexpected character')
  return tokens
}

function parseExpression(source: string): Tree {
  if (typeof source !== 'string' || source.trim() === '') {
    throw new ScopeguardConfigError('a scope requirement must not be empty')
  }
  if (source.length > 4096) throw new ScopeguardConfigError('a scope requirement is too long')
  const tokens = tokenize(source)
  let position = 0
  const peek = (): Token | undefined => tokens[position]
  const at = (): number => peek()?.at ?? source.length

  const parseOr = (): Tree => {
    const items = [parseAnd()]
    while (peek()?.text === 'or') {
      position++
      items.push(parseAnd())
    }
    return items.length === 1 ? (items[0] as Tree) : { op: 'or', items }
  }
  const parseAnd = (): Tree => {
    const items = [parsePrimary()]
    for (;;) {
      const next = peek()
      if (next === undefined || next.text === 'or' || next.text === ')') break
      if (next.text === 'and') position++
      items.push(parsePrimary())
    }
    return items.length === 1 ? (items[0] as Tree) : { op: 'and', items }
  }
  const parsePrimary = (): Tree => {
    const token = peek()
    if (token === undefined) fail(source, at(), 'expected a scope or "("')
    if (token.text === '(') {
      position++
      const inner = parseOr()
      if (peek()?.text !== ')') fail(source, at(), 'expected ")"')
      position++
      return inner
    }
    if (token.text === ')' || isKeyword(token.text)) {
      fail(source, token.at, `unexpected "${token.text}"`)
    }
    if (isKeyword(token.text.toLowerCase())) {
      fail(source, token.at, `write the operator "${token.text}" in lower case`)
    }
    if (!isScopeToken(token.text)) {
      fail(source, token.at, `"${token.text}" is not a valid scope token (RFC 6749 §3.3)`)
    }
    position++
    return { op: 'scope', scope: token.text }
  }

  const tree = parseOr()
  if (position < tokens.length) fail(source, at(), `unexpected "${peek()?.text}"`)
  return tree
}

function fail(source: string, at: number, message: string): never {
  throw new ScopeguardConfigError(
    `invalid scope requirement ${JSON.stringify(source)} at position ${at + 1}: ${message}`,
  )
}

function toAlternatives(tree: Tree): readonly (readonly string[])[] {
  let terms = 0
  const walk = (node: Tree): string[][] => {
    if (node.op === 'scope') {
      if (++terms > MAX_TERMS)
        throw new ScopeguardConfigError('a scope requirement has too many terms')
      return [[node.scope]]
    }
    if (node.op === 'or') return node.items.flatMap(walk)
    return node.items.map(walk).reduce<string[][]>(
      (product, options) => {
        const next = product.flatMap((left) => options.map((right) => [...left, ...right]))
        if (next.length > MAX_ALTERNATIVES) {
          throw new ScopeguardConfigError('a scope requirement expands to too many alternatives')
        }
        return next
      },
      [[]],
    )
  }
  const unique = new Map<string, readonly string[]>()
  for (const alternative of walk(tree)) {
    const scopes = Object.freeze([...new Set(alternative)])
    unique.set([...scopes].sort().join(' '), scopes)
  }
  return Object.freeze([...unique.values()])
}

function render(tree: Tree, parent?: 'and' | 'or'): string {
  if (tree.op === 'scope') return tree.scope
  const text = tree.items.map((item) => render(item, tree.op)).join(` ${tree.op} `)
  return parent === 'and' && tree.op === 'or' ? `(${text})` : text
}
