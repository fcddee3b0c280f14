/**
 * JSON pointers (RFC 6901) of policy members: `/routes/GET ~1items/require`.
 */

/** The pointer of a member, from its path of keys and indexes. */
export function toPointer(...segments: readonly (string | number)[]): string {
  return segments
    .map((segment) => `/${String(segment).replace(/~/g, '~0').replace(/\//g, '~1')}`)
    .join('')
}

/** A pointer's child: `childPointer('/routes', 'GET /items')` is `/routes/GET ~1items`. */
export function childPointer(pointer: string, segment: string | number): string {
  return pointer + toPointer(segment)
}

/** The keys and indexes of a pointer, unescaped. `''` (the whole document) has none. */
export function fromPointer(pointer: string): string[] {
  if (pointer === '') return []
  return pointer
    .slice(1)
    .split('/')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
}
