// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/

/** Whether a string is a scope-token of RFC 6749 §3.3 (printable ASCII, no space, `"` or `\`). */
export function isScopeToken(value: string): boolean {
  return SCOPE_TOKEN.test(value)
}
