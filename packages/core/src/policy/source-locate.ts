import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter } from 'yaml'
import { childPointer, fromPointer } from './source-pointer.js'

/** A 1-based line and column in the policy source. */
export interface SourcePosition {
  readonly line: number
  readonly column: number
}

/**
 * Where the member at a JSON pointer is written: the start of its value (`part: 'value'`,
 * the default) or of its key (`part: 'key'`). A member that does not exist is placed at its
 * nearest existing ancestor's key (or the ancestor's value when it has no key).
 */
export type Locate = (pointer: string, part?: 'value' | 'key') => SourcePosition

interface Ranged {
  range?: readonly number[] | null
}

interface Member {
  readonly key: Ranged | undefined
  readonly value: Ranged | null
}

/** The key of a map entry as the parsed document spells it (scalars only). */
export function keyText(key: unknown, doc: Document): string | undefined {
  const node = isAlias(key) ? key.resolve(doc) : key
  if (node === null || node === undefined) return ''
  if (isScalar(node)) return String(node.value ?? '')
  return undefined
}

/**
 * Builds {@link Locate} over a parsed YAML (or JSON) document, and `pointerAt`, which names
 * the deepest member written at a source offset (for syntax errors).
 */
export function createLocator(
  doc: Document,
  lineCounter: LineCounter,
): { locate: Locate; pointerAt(offset: number): string } {
  const position = (node: Ranged | null | undefined): SourcePosition => {
    const { line, col } = lineCounter.linePos(node?.range?.[0] ?? 0)
    return { line, column: col }
  }

  const member = (parent: unknown, segment: string): Member | undefined => {
    const node = isAlias(parent) ? parent.resolve(doc) : parent
    let found: Member | undefined
    if (isMap(node)) {
      // The last of duplicate keys is the one the document holds.
      for (const pair of node.items) {
        if (keyText(pair.key, doc) === segment) {
          found = { key: pair.key as Ranged, value: (pair.value as Ranged | null) ?? null }
        }
      }
    } else if (isSeq(node) && /^(0|[1-9][0-9]*)$/.test(segment)) {
      const item = node.items[Number(segment)] as Ranged | null | undefined
      if (item !== undefined) found = { key: undefined, value: item }
    }
    return found
  }

  const locate: Locate = (pointer, part = 'value') => {
    let node = doc.contents as Ranged | null
    let key: Ranged | undefined
    for (const segment of fromPointer(pointer)) {
      const next = node === null ? undefined : member(node, segment)
      if (next === undefined) return position(key ?? node)
      key = next.key
      node = next.value
    }
    return position(part === 'key' ? (key ?? node) : (node ?? key))
  }

  const pointerAt = (offset: number): string => {
    let pointer = ''
    let node: unknown = doc.contents
    const start = (ranged: unknown): number => (ranged as Ranged | null)?.range?.[0] ?? Infinity
    const end = (ranged: unknown): number => {
      const range = (ranged as Ranged | null)?.range
      return range?.[2] ?? range?.[1] ?? -Infinity
    }
    const contains = (ranged: unknown): boolean => start(ranged) <= offset && offset < end(ranged)
    for (;;) {
      let next: unknown
      if (isMap(node)) {
        for (const pair of node.items) {
          const text = keyText(pair.key, doc)
          const last = pair.value ?? pair.key
          if (text !== undefined && start(pair.key) <= offset && offset < end(last)) {
            pointer = childPointer(pointer, text)
            next = contains(pair.value) ? pair.value : undefined
          }
        }
      } else if (isSeq(node)) {
        node.items.forEach((item, index) => {
          if (contains(item)) {
            pointer = childPointer(pointer, index)
            next = item
          }
        })
      }
      if (next === undefined) return pointer
      node = next
    }
  }

  return { locate, pointerAt }
}
