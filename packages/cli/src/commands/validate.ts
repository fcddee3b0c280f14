import {
  compilePolicy,
  formatProblem,
  parsePolicySource,
  validatePolicySource,
  type PolicyProblem,
} from '@scopeguard/core'
import { flag, formatOption, stringOption, type Command, type ParsedArgs } from '../command.js'
import { EXIT, usageError } from '../errors.js'
import type { Output } from '../io.js'
import { LINT_RULES, lintPolicy, type LintWarning } from '../lint-policy.js'
import { readSource } from '../read-source.js'

type Problem = PolicyProblem | LintWarning

/**
 * `scopeguard validate <policy>`: the schema and semantic checks of core (the very checks the
 * middleware runs at start-up), then the review warnings of lintPolicy.
 */
export const validate: Command = {
  name: 'validate',
  summary: 'check a policy file: schema, semantics and review warnings',
  arguments: [{ name: '<policy>', description: 'the policy file (YAML or JSON), or git:REF:path' }],
  options: {
    format: { type: 'string', value: 'format', description: 'text (default), json or github' },
    json: { type: 'boolean', description: 'the same as --format json' },
    strict: { type: 'boolean', description: 'warnings fail the check too (exit 1)' },
    skip: {
      type: 'string',
      value: 'rules',
      description: `review warnings not to report, comma-separated: ${LINT_RULES.join(', ')} or all`,
    },
  },
  description: [
    'Validates a policy as the middleware does when it starts (core validatePolicySource: YAML or',
    'JSON syntax, the JSON Schema, scopes known to the catalog, implies cycles, route paths the',
    'routers accept, overlapping routes, contract stages), then adds review warnings: a read-only',
    'route requiring a write-like or umbrella scope (broad-read-requirement), a baseline scope no',
    'route requires (unused-baseline-scope), catalog scopes named like wildcards (wildcard-scope),',
    'and rules in monitor mode (monitor-mode). Every problem is printed as',
    '"<severity> file:line:column pointer: message", sorted by position. The policy format has no',
    'date for a rule, so monitor-mode cannot tell how long a rule has been monitoring.',
  ].join('\n'),
  exitCodes: [
    [EXIT.ok, 'the policy is valid (warnings are printed but do not fail, unless --strict)'],
    [EXIT.failed, 'the policy has errors (or warnings, with --strict)'],
    [EXIT.usage, 'bad arguments, or the file cannot be read'],
  ],
  examples: [
    'scopeguard validate scopeguard.policy.yaml',
    'scopeguard validate scopeguard.policy.yaml --strict --skip monitor-mode',
    'scopeguard validate scopeguard.policy.yaml --format github   # GitHub Actions annotations',
    'scopeguard validate git:origin/main:scopeguard.policy.yaml --json',
  ],
  async run(args, { out, cwd }) {
    const format = formatOption(args, ['text', 'json', 'github'])
    const skip = skippedRules(args)
    const source = await readSource(args.positionals[0] ?? '', cwd)
    const { document, problems } = validatePolicySource(source.text, { file: source.name })
    const all: Problem[] = [...problems]
    if (document !== undefined) {
      const policy = compilePolicy(document, source.text, source.name)
      const { locate } = parsePolicySource(source.text, { file: source.name })
      all.push(...lintPolicy(document, policy, locate, source.name, skip))
    }
    all.sort((a, b) => a.line - b.line || a.column - b.column || rank(a) - rank(b))
    const errors = all.filter((p) => p.severity === 'error').length
    const warnings = all.length - errors
    const failed = errors > 0 || (flag(args, 'strict') && warnings > 0)
    if (format === 'json') {
      out.line(
        JSON.stringify(
          { file: source.name, valid: errors === 0, errors, warnings, problems: all },
          null,
          2,
        ),
      )
    } else if (format === 'github') {
      for (const problem of all) out.line(annotation(problem))
    } else {
      printText(out, source.name, all, errors, warnings, document?.routes)
    }
    return failed ? EXIT.failed : EXIT.ok
  },
}

function skippedRules(args: ParsedArgs): Set<string> {
  const list = (stringOption(args, 'skip') ?? '')
    .split(',')
    .map((rule) => rule.trim())
    .filter((rule) => rule !== '')
  if (list.includes('all')) return new Set(LINT_RULES)
  const unknown = list.filter((rule) => !(LINT_RULES as readonly string[]).includes(rule))
  if (unknown.length > 0)
    throw usageError(
      `--skip: unknown rule ${JSON.stringify(unknown[0])} (${LINT_RULES.join(', ')})`,
    )
  return new Set(list)
}

function rank(problem: Problem): number {
  return problem.severity === 'error' ? 0 : 1
}

function printText(
  out: Output,
  file: string,
  problems: readonly Problem[],
  errors: number,
  warnings: number,
  routes: object | undefined,
): void {
  const { style } = out
  for (const problem of problems) {
    const label = problem.severity === 'error' ? style.red('error') : style.yellow('warning')
    const rule = 'rule' in problem ? style.dim(` [${problem.rule}]`) : ''
    out.line(`${label} ${formatProblem(problem)}${rule}`)
  }
  if (errors > 0) {
    out.line(style.red(`${file}: ${plural(errors, 'error')}, ${plural(warnings, 'warning')}`))
  } else {
    const count = routes === undefined ? 0 : Object.keys(routes).length
    out.line(
      `${style.green(`${file} is valid`)}: ${plural(count, 'route')}, ${plural(warnings, 'warning')}`,
    )
  }
}

/** A GitHub Actions workflow command that annotates the line of the problem. */
function annotation(problem: Problem): string {
  const escapeData = (text: string): string =>
    text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')
  const escapeProperty = (text: string): string =>
    escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C')
  const level = problem.severity === 'error' ? 'error' : 'warning'
  const title = 'rule' in problem ? `scopeguard ${problem.rule}` : 'scopeguard'
  return (
    `::${level} file=${escapeProperty(problem.file ?? '')},line=${problem.line},` +
    `col=${problem.column},title=${escapeProperty(title)}::` +
    escapeData(`${problem.pointer || '/'}: ${problem.message}`)
  )
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`
}
