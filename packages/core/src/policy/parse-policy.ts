import { isMap, isSeq, LineCounter, parseDocument, visit, type Document } from 'yaml'
import { createLocator, keyText, type Locate } from './source-locate.js'
import type { PolicyProblem } from './types.js'

export type { Locate, SourcePosition } from './source-locate.js'

/** How to read a policy source. */
export interface ParsePolicyOptions {
  /** The file the text came from: named in every problem, and `.json` selects JSON. */
  readonly file?: string
  /** `json` or `yaml`; by default JSON when `file` ends in `.json`, YAML otherwise. */
  readonly format?: 'yaml' | 'json'
}

/** A parsed policy source: the plain value, where each member is written, and what is wrong. */
export interface ParsedPolicySource {
  /**
   * The document as plain data (not yet validated), or `undefined` when the text has syntax
   * errors. Duplicate keys are problems but do not hide the document (the last one wins).
   */
  readonly document: unknown
  /** The 1-based line and column of the member at a JSON pointer. */
  readonly locate: Locate
  /** Syntax errors, duplicate keys and YAML warnings, in source order. */
  readonly problems: PolicyProblem[]
}

/**
 * Parses the text of a policy file, YAML or JSON, and reports every syntax error and every
 * duplicate key with its line and column. JSON is read as strictly as `JSON.parse` (no
 * comments, no trailing commas) but, unlike `JSON.parse`, a key given twice is an error.
 * `locate` maps a JSON pointer to the position of that member, for the later checks.
 *
 * @example
 * const source = parsePolicySource('version: 1\nversion: 2\n', { file: 'policy.yaml' })
 * source.problems[0]?.message // => 'duplicate key "version" (first at line 1, column 1): …'
 * source.locate('/version') // => { line: 2, column: 10 }
 */
export function parsePolicySource(
  text: string,
  options: ParsePolicyOptions = {},
): ParsedPolicySource {
  const { file } = options
  const format = options.format ?? (file?.toLowerCase().endsWith('.json') ? 'json' : 'yaml')
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text
  const lineCounter = new LineCounter()
  const doc = parseDocument(source, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: false, // checked below, with a better message and a pointer
    logLevel: 'silent',
    version: '1.2',
    merge: false,
  })
  const { locate, pointerAt } = createLocator(doc, lineCounter)
  const problems: PolicyProblem[] = []
  let syntaxErrors = 0
  const report = (
    severity: PolicyProblem['severity'],
    offset: number,
    message: string,
    pointer = pointerAt(offset),
  ): void => {
    const { line, col } = lineCounter.linePos(offset)
    problems.push({ severity, file, line, column: col, pointer, message })
  }
  const syntaxError = (offset: number, message: string, pointer?: string): void => {
    syntaxErrors++
    report('error', offset, message, pointer)
  }

  let document: unknown
  if (format === 'json') {
    // JSON.parse decides what is valid JSON; the YAML parse above gives positions and keys.
    // Its syntax errors get no pointer: YAML may read the broken text as other members.
    const json = parseJson(source)
    if ('error' in json) {
      syntaxError(json.offset, `invalid JSON: ${json.error}`, '')
    } else {
      checkKeys(doc, lineCounter, report, syntaxError)
      document = json.value
    }
  } else {
    checkKeys(doc, lineCounter, report, syntaxError)
    for (const error of doc.errors) syntaxError(error.pos[0], `invalid YAML: ${error.message}`)
    for (const warning of doc.warnings)
      report('warning', warning.pos[0], `YAML: ${warning.message}`)
    visit(doc, {
      Alias(_, alias) {
        if (alias.resolve(doc) === undefined) {
          syntaxError(
            alias.range?.[0] ?? 0,
            `invalid YAML: no anchor "&${alias.source}" before this alias`,
          )
        }
      },
    })
    if (syntaxErrors === 0) {
      try {
        document = doc.toJS({ maxAliasCount: 100 })
      } catch (error) {
        // Aliases expanding past maxAliasCount (a "billion laughs" document).
        syntaxError(
          0,
          `invalid YAML: ${error instanceof Error ? error.message : String(error)}`,
          '',
        )
      }
    }
  }
  problems.sort((a, b) => a.line - b.line || a.column - b.column)
  return { document: syntaxErrors === 0 ? document : undefined, locate, problems }
}

/**
 * Reports keys given twice in one mapping (as the plain data would have them: `1` and `"1"`
 * are the same key), and keys that are lists or mappings (a syntax error here).
 */
function checkKeys(
  doc: Document,
  lineCounter: LineCounter,
  report: (severity: 'error', offset: number, message: string) => void,
  syntaxError: (offset: number, message: string) => void,
): void {
  const walk = (node: unknown): void => {
    if (isMap(node)) {
      const seen = new Map<string, number>()
      for (const pair of node.items) {
        const offset = (pair.key as { range?: number[] } | null)?.range?.[0] ?? 0
        const text = keyText(pair.key, doc)
        const first = text === undefined ? undefined : seen.get(text)
        if (text === undefined) {
          syntaxError(offset, 'invalid YAML: a key must be a plain string, not a list or mapping')
        } else if (first !== undefined) {
          const { line, col } = lineCounter.linePos(first)
          report(
            'error',
            offset,
            `duplicate key ${JSON.stringify(text)} (first at line ${line}, column ${col}): ` +
              'a key may appear once in a mapping; merge the two entries or remove one',
          )
        } else {
          seen.set(text, offset)
        }
        walk(pair.value)
      }
    } else if (isSeq(node)) {
      node.items.forEach(walk)
    }
  }
  walk(doc.contents)
}

/** `JSON.parse` with the offset of its error, when it has one. */
function parseJson(text: string): { value: unknown } | { error: string; offset: number } {
  try {
    return { value: JSON.parse(text) as unknown }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    const at = /at position (\d+)/.exec(message)
    const offset = at?.[1] === undefined ? text.length : Number(at[1])
    const reason = message
      .replace(/\s*\(line \d+ column \d+\)/, '')
      .replace(/ in JSON at position \d+/, '')
      .replace(/,? "[^]*" is not valid JSON$/, '')
    return { error: reason, offset }
  }
}
