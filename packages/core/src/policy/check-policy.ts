import { checkClients, checkContracts } from './check-clients.js'
import { createReporter, isRecord, sortProblems } from './check-report.js'
import { checkRouteOverlaps } from './check-route-overlap.js'
import { checkRoutes } from './check-routes.js'
import { catalogOf, checkCatalog } from './check-scopes.js'
import type { Locate } from './source-locate.js'
import type { PolicyProblem } from './types.js'

/** Where the checked document came from, to place each problem. */
export interface CheckPolicyOptions {
  /** Maps a JSON pointer to its line and column (from parsePolicySource); 1:1 otherwise. */
  readonly locate?: Locate
  /** The file named in every problem. */
  readonly file?: string
}

/**
 * The checks of a policy that a JSON Schema cannot express: scopes named by routes,
 * baselines, contract stages and `implies` are in the catalog; `implies` has no cycle;
 * requirements compile; route paths compile for Express 5 and @koa/router, are not
 * duplicated and do not overlap (a warning); a rule is public or requires something, not
 * both; conditions name parameters of their path; contracts' stages only widen, the
 * current stage exists, and a client has one contract. Works on any parsed value, checking
 * what is well-formed and leaving the rest to the schema. Returns the problems sorted by
 * position; only real mistakes are errors, the rest are warnings.
 *
 * @example
 * const source = parsePolicySource(text, { file: 'scopeguard.policy.yaml' })
 * const problems = checkPolicy(source.document, { locate: source.locate, file: 'scopeguard.policy.yaml' })
 * problems.map(formatProblem) // => ['scopeguard.policy.yaml:9:16 /routes/GET ~1items: scope "read:item" is not in the catalog …']
 */
export function checkPolicy(document: unknown, options: CheckPolicyOptions = {}): PolicyProblem[] {
  const report = createReporter(options.locate ?? (() => ({ line: 1, column: 1 })), options.file)
  if (!isRecord(document)) return []
  const catalog = catalogOf(document)
  checkCatalog(document.scopes, catalog, report)
  checkRouteOverlaps(checkRoutes(document.routes, catalog, report), report)
  checkClients(document.clients, catalog, report)
  checkContracts(document.contracts, document.clients, catalog, report)
  return sortProblems(report.problems)
}
