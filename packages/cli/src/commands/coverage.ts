import type { CompiledPolicy } from '@scopeguard/core'
import { flag, formatOption, requiredOption, stringOption, type Command } from '../command.js'
import { compareCoverage, type CoverageReport, type RouteCoverage } from '../coverage-report.js'
import { EXIT } from '../errors.js'
import type { Output } from '../io.js'
import { loadAppRoutes, type AppRoutes } from '../load-app.js'
import { readPolicy } from '../read-policy.js'

/** Methods of one path listed in full before they are counted instead. */
const MAX_METHODS = 6

/** `scopeguard coverage --app <module> --policy <policy>`: routes without a rule fail CI. */
export const coverage: Command = {
  name: 'coverage',
  summary: "compare an Express or Koa app's routes with the policy's rules",
  arguments: [],
  options: {
    app: {
      type: 'string',
      value: 'module',
      description: 'the module exporting the app, without calling listen() (required)',
    },
    policy: {
      type: 'string',
      value: 'policy',
      description: 'the policy file, or git:REF:path (required)',
    },
    export: {
      type: 'string',
      value: 'name',
      description:
        'the export holding the app (default: the default export, else the only app exported)',
    },
    strict: { type: 'boolean', description: 'rules without a route fail the check too (exit 1)' },
    format: { type: 'string', value: 'format', description: 'text (default) or json' },
    json: { type: 'boolean', description: 'the same as --format json' },
  },
  description: [
    'Imports the app module (it must export the app and must not call listen(): keep listen() in',
    'a separate server module), tells Express 5 (a function with .handle and .router) from Koa 3',
    '(.middleware and .callback), lists its routes with listRoutes() of @scopeguard/express or',
    '@scopeguard/koa (whichever the app uses; it is imported from where the app resolves it, so',
    'it must be installed there), and compares them with the policy rules as the middleware looks',
    'them up: "METHOD template", else "ALL template"; HEAD runs GET handlers; an all() route needs',
    'an ALL rule; templates must match exactly. A route without a rule is denied in production',
    '(defaults.unmatched: deny) or let through for any token (allow): either way it fails here.',
    'A route listRoutes() cannot place (a RegExp path) is listed as <unplaced> and fails; routes',
    'it cannot see are not listed: Express sub-apps (app.use(path, subApp)) and Koa routers that',
    'are composed or mounted behind another middleware.',
    'A TypeScript app module must be built first, or node given a loader (NODE_OPTIONS).',
  ].join('\n'),
  exitCodes: [
    [
      EXIT.ok,
      'every route has a rule (rules without a route are reported, and fail with --strict)',
    ],
    [EXIT.failed, 'a route has no rule (or, with --strict, a rule has no route)'],
    [EXIT.usage, 'bad arguments; the policy or app cannot be read, imported or listed'],
  ],
  examples: [
    'scopeguard coverage --app dist/app.js --policy scopeguard.policy.yaml',
    'scopeguard coverage --app dist/app.js --export app --policy scopeguard.policy.yaml --json',
    'NODE_OPTIONS="--import tsx" scopeguard coverage --app src/app.ts --policy scopeguard.policy.yaml',
  ],
  async run(args, { out, cwd }) {
    const format = formatOption(args, ['text', 'json'])
    const appSpec = requiredOption(args, 'app')
    const policySpec = requiredOption(args, 'policy')
    const loaded = await readPolicy(policySpec, cwd)
    const app = await loadAppRoutes(appSpec, stringOption(args, 'export'), cwd)
    const report = compareCoverage(loaded.policy, app.routes)
    const failed =
      report.uncovered.length > 0 || (flag(args, 'strict') && report.unusedRules.length > 0)
    if (format === 'json') {
      out.line(
        JSON.stringify(
          {
            app: { file: app.file, export: app.exportName, framework: app.framework },
            policy: { file: loaded.source.name, version: loaded.policy.version },
            unmatched: loaded.policy.defaults.unmatched,
            ...report,
            ok: !failed,
          },
          null,
          2,
        ),
      )
    } else {
      printText(out, app, loaded.source.name, loaded.policy, report)
    }
    return failed ? EXIT.failed : EXIT.ok
  },
}

function printText(
  out: Output,
  app: AppRoutes,
  policyName: string,
  policy: CompiledPolicy,
  report: CoverageReport,
): void {
  const { style } = out
  const framework = app.framework === 'express' ? 'Express' : 'Koa'
  const from = app.exportName === 'default' ? 'default export' : `export ${app.exportName}`
  out.line(`${framework} app ${app.file} (${from}): ${count(report.routes.length, 'route')}`)
  out.line(`policy ${policyName}: ${count(policy.routes.size, 'rule')}`)
  if (report.uncovered.length > 0) {
    const fate =
      policy.defaults.unmatched === 'deny'
        ? 'denied as unmapped'
        : 'let through for any valid token: defaults.unmatched is allow'
    out.line('')
    out.line(style.red(`routes without a rule (${fate}):`))
    for (const line of groupByPath(report.uncovered)) out.line(`  ${line}`)
  }
  if (report.unusedRules.length > 0) {
    out.line('')
    out.line(style.yellow('rules without a route:'))
    for (const { rule, note } of report.unusedRules) out.line(`  ${rule}  ${style.dim(note)}`)
  }
  out.line('')
  const covered = report.routes.length - report.uncovered.length
  const summary = `${covered} of ${count(report.routes.length, 'route')} covered; ${count(report.unusedRules.length, 'rule')} without a route`
  out.line(report.uncovered.length === 0 ? style.green(summary) : style.red(summary))
}

/** Uncovered routes, one line per path and note: `GET, POST /items` or `34 methods /x`. */
function groupByPath(routes: readonly RouteCoverage[]): string[] {
  const groups = new Map<string, { methods: string[]; path: string; note: string | undefined }>()
  for (const route of routes) {
    const key = `${route.path}\u0000${route.note ?? ''}`
    const group = groups.get(key) ?? { methods: [], path: route.path, note: route.note }
    group.methods.push(route.method)
    groups.set(key, group)
  }
  return [...groups.values()].map(({ methods, path, note }) => {
    const listed =
      methods.length <= MAX_METHODS
        ? methods.join(', ')
        : `${methods.slice(0, MAX_METHODS).join(', ')} and ${methods.length - MAX_METHODS} more methods`
    return `${listed} ${path}${note === undefined ? '' : `  (${note})`}`
  })
}

function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}
