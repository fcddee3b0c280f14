import { match } from 'path-to-regexp'

/** A compiled path template: a test of whole paths, and their parameters. */
export interface TemplateMatcher {
  (path: string): boolean
  /** The decoded parameters of a matching path, or undefined when it does not match. */
  readonly params: (path: string) => Record<string, string | string[]> | undefined
}

/**
 * Compiles a path template (path-to-regexp v8 syntax, as Express 5 and @koa/router use) into
 * a test of whole paths, case-insensitive unless `sensitive`. Adapters use it to tell which
 * mount prefix a request came through and to read the parameters of a mount prefix.
 *
 * @example
 * createTemplateMatcher('/tenants/:tenantId')('/tenants/42') // => true
 * createTemplateMatcher('/tenants/:tenantId').params('/tenants/42') // => { tenantId: '42' }
 */
export function createTemplateMatcher(
  template: string,
  options: { sensitive?: boolean } = {},
): TemplateMatcher {
  const test = match(template, { end: true, sensitive: options.sensitive === true, decode: false })
  const decoded = match(template, {
    end: true,
    sensitive: options.sensitive === true,
    decode: safeDecode,
  })
  const params = (path: string): Record<string, string | string[]> | undefined => {
    const result = decoded(path)
    return result === false ? undefined : (result.params as Record<string, string | string[]>)
  }
  return Object.assign((path: string) => test(path) !== false, { params })
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}
