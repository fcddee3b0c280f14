import type { Locate } from './source-locate.js'
import type { PolicyProblem } from './types.js'

/** Collects the problems of one policy, placing each with {@link Locate}. */
export interface Reporter {
  error(pointer: string, message: string, part?: 'value' | 'key'): void
  warning(pointer: string, message: string, part?: 'value' | 'key'): void
  readonly problems: PolicyProblem[]
}

/** A reporter for the policy `file` whose members `locate` finds. */
export function createReporter(locate: Locate, file: string | undefined): Reporter {
  const problems: PolicyProblem[] = []
  const add =
    (severity: PolicyProblem['severity']) =>
    (pointer: string, message: string, part: 'value' | 'key' = 'value'): void => {
      problems.push({ severity, file, ...locate(pointer, part), pointer, message })
    }
  return { error: add('error'), warning: add('warning'), problems }
}

/** Sorts problems by position, errors before warnings at the same place. */
export function sortProblems(problems: readonly PolicyProblem[]): PolicyProblem[] {
  return [...problems].sort(
    (a, b) =>
      a.line - b.line ||
      a.column - b.column ||
      (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1) ||
      (a.pointer < b.pointer ? -1 : a.pointer > b.pointer ? 1 : 0),
  )
}

/** A plain object (a YAML mapping), not an array or null. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The own entries of a mapping, or none when it is not one. */
export function entriesOf(value: unknown): [string, unknown][] {
  return isRecord(value) ? Object.entries(value) : []
}

/** The strings of a list, with their indexes; anything else is skipped (the schema reports it). */
export function stringsOf(value: unknown): [number, string][] {
  if (!Array.isArray(value)) return []
  return value.flatMap((item: unknown, index): [number, string][] =>
    typeof item === 'string' ? [[index, item]] : [],
  )
}

/** `"a", "b" and "c"`. */
export function listWords(words: readonly string[], last = 'and'): string {
  const quoted = words.map((word) => JSON.stringify(word))
  if (quoted.length <= 1) return quoted.join('')
  return `${quoted.slice(0, -1).join(', ')} ${last} ${quoted.at(-1) ?? ''}`
}

/** ` (did you mean "x"?)` for the candidate closest to a misspelt word, or `''`. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  let best: string | undefined
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase())
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return best === undefined ? '' : ` (did you mean ${JSON.stringify(best)}?)`
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return Infinity
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution))
    }
    previous = current
  }
  return previous[b.length] ?? Infinity
}
