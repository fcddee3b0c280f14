import { match } from 'path-to-regexp'

/**
 * Compiles a path template (path-to-regexp v8 syntax, as Express 5 and @koa/router use) into
 * a test of whole paths. Adapters use it to tell which mount prefix a request came through
 * when one route is mounted under several.
 *
 * @example
 * createTemplateMatcher('/tenants/:tenantId')('/tenants/42') // => true
 */
export function createTemplateMatcher(
  template: string,
  options: { sensitive?: boolean } = {},
): (path: string) => boolean {
  const test = match(template, { end: true, sensitive: options.sensitive === true, decode: false })
  return (path) => test(path) !== false
}
