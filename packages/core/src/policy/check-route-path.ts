import { parse, pathToRegexp, type Token } from 'path-to-regexp'
import type { Reporter } from './check-report.js'

const ROUTE_KEY = /^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|ALL) (\/.*)$/s
/** Optional groups expand to at most this many paths when looking for overlapping routes. */
const MAX_SEQUENCES = 32

/** A route key whose path the routers accept, with what the overlap checks need. */
export interface RoutePath {
  readonly key: string
  readonly method: string
  readonly path: string
  /** The JSON pointer of the route rule. */
  readonly pointer: string
  /** Names of its parameters and wildcards. */
  readonly params: ReadonlySet<string>
  /** The regular expression Express 5 and @koa/router match it with by default. */
  readonly regexp: RegExp
  /** The regular expression's source: equal for paths that differ only in parameter names. */
  readonly source: string
  /** The same, ignoring case and a trailing `/` (the routers' default leniency). */
  readonly looseSource: string
  /** The path with each combination of its optional groups, as flat token lists. */
  readonly sequences: readonly (readonly Token[])[]
}

/**
 * Parses the path of a route key as Express 5 and @koa/router do (path-to-regexp 8) and
 * reports a path they reject, with what to write instead. Returns undefined for a key that
 * is not `"METHOD /path"` (the schema reports it) or a path that does not compile.
 *
 * The ambiguity rule: path-to-regexp 8 already rejects captures with no text between them
 * (`/:a:b`, `/:a*b`), and compiles `/:a-:b` so that the second parameter cannot contain the
 * separator, which neither backtracks nor is ambiguous; it is accepted. A wildcard followed
 * by another parameter or wildcard is reported as a warning: the split between them is
 * decided by greedy matching, with several wildcards 8.4 matches every wildcard after the
 * first within one segment, and releases before 8.4.0 compile several wildcards with a
 * parameter into a backtracking regular expression (GHSA-27v5-c462-wpq7).
 */
export function checkRoutePath(
  key: string,
  pointer: string,
  report: Reporter,
): RoutePath | undefined {
  const match = ROUTE_KEY.exec(key)
  if (match === null) return undefined
  const [, method = '', path = ''] = match
  let tokens: Token[]
  let regexp: RegExp
  let looseSource: string
  try {
    tokens = parse(path).tokens
    regexp = pathToRegexp(path).regexp
    looseSource = pathToRegexp(loosen(path)).regexp.source.toLowerCase()
  } catch (error) {
    report.error(pointer, pathProblem(path, error), 'key')
    return undefined
  }
  const captures = flattenCaptures(tokens)
  const firstWildcard = captures.findIndex((token) => token.type === 'wildcard')
  const after = firstWildcard < 0 ? [] : captures.slice(firstWildcard + 1)
  if (after.length > 0) report.warning(pointer, wildcardProblem(path, captures), 'key')
  return {
    key,
    method,
    path,
    pointer,
    params: new Set(captures.map((token) => token.name)),
    regexp,
    source: regexp.source,
    looseSource,
    sequences: expandGroups(tokens),
  }
}

type Capture = Extract<Token, { type: 'param' | 'wildcard' }>

function flattenCaptures(tokens: readonly Token[]): Capture[] {
  return tokens.flatMap((token): Capture[] =>
    token.type === 'group' ? flattenCaptures(token.tokens) : token.type === 'text' ? [] : [token],
  )
}

/** Express 5 (non-strict routing) drops trailing slashes of a path before compiling it. */
function loosen(path: string): string {
  return path === '/' ? path : path.replace(/\/+$/, '')
}

function pathProblem(path: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  const reason = message.replace(/(: [^]*)?; visit \S+ for info$/, '')
  let hint = 'see the path syntax of Express 5 / path-to-regexp 8'
  if (reason.startsWith('Missing text before')) {
    hint =
      'put literal text between two parameters ("/:from-:to"), or the router cannot tell where one ends'
  } else if (reason.startsWith('Missing parameter name')) {
    hint = 'name every parameter and wildcard (":id", "*path")'
  } else if (/^Unexpected [?+*]/.test(reason)) {
    hint =
      'write optional parts in braces ("/items{/:id}") and repeated segments as a named wildcard ("/*path")'
  } else if (/^Unexpected [()[\]!]/.test(reason)) {
    hint =
      'regular expressions are not supported; write a backslash before the character to match it literally'
  } else if (reason.startsWith('Too many path combinations')) {
    hint = 'use fewer optional groups "{…}"'
  }
  return `route path ${JSON.stringify(path)} is rejected by Express 5 and @koa/router: ${reason}; ${hint}`
}

function wildcardProblem(path: string, captures: readonly Capture[]): string {
  const wildcards = captures.filter((token) => token.type === 'wildcard')
  const first = wildcards[0]?.name ?? ''
  if (wildcards.length > 1) {
    return (
      `route path ${JSON.stringify(path)} has ${wildcards.length} wildcards: path-to-regexp 8.4 ` +
      `matches every wildcard after "*${first}" within one segment, and releases before 8.4.0 ` +
      'compile such a path into a regular expression that can backtrack catastrophically; ' +
      'use a single wildcard, at the end of the path'
    )
  }
  const next = captures[captures.indexOf(wildcards[0] as Capture) + 1]?.name ?? ''
  return (
    `in route path ${JSON.stringify(path)}, the wildcard "*${first}" is followed by ":${next}": ` +
    `the wildcard takes all it can and ":${next}" gets what is left, which is easy to misread; ` +
    'end the path with the wildcard if the app allows it'
  )
}

/** Every combination of optional groups, as flat token lists (at most {@link MAX_SEQUENCES}). */
function expandGroups(tokens: readonly Token[]): Token[][] {
  let sequences: Token[][] = [[]]
  for (const token of tokens) {
    if (token.type === 'group') {
      const inner = expandGroups(token.tokens)
      sequences = [
        ...sequences,
        ...sequences.flatMap((head) => inner.map((tail) => [...head, ...tail])),
      ].slice(0, MAX_SEQUENCES)
    } else {
      sequences = sequences.map((head) => [...head, token])
    }
  }
  return sequences
}
