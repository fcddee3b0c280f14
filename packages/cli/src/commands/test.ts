import { compilePolicy, validatePolicySource, type CompiledPolicy } from '@scopeguard/core'
import { formatOption, stringOption, type Command } from '../command.js'
import { isRecord, parseCaseTable, type CaseTable, type PolicyCase } from '../case-table.js'
import { EXIT, inputError } from '../errors.js'
import type { Output } from '../io.js'
import { printExplanation } from '../print-explanation.js'
import { readPolicy, type LoadedPolicy } from '../read-policy.js'
import { readSource } from '../read-source.js'
import { runCase, type CaseResult } from '../run-case.js'

/** `scopeguard test <cases.yaml>`: policy table cases, judged without an app. */
export const test: Command = {
  name: 'test',
  summary: 'run policy test cases (the policy-cases.yaml format) without an app',
  arguments: [{ name: '<cases>', description: 'the case table (YAML), or git:REF:path' }],
  options: {
    policy: {
      type: 'string',
      value: 'policy',
      description: 'the policy of cases that name none (and the base of { merge } without base)',
    },
    realm: {
      type: 'string',
      value: 'realm',
      description: 'the realm of expected challenges (default api)',
    },
    filter: {
      type: 'string',
      value: 'text',
      description: 'run only the cases whose name contains it',
    },
    format: { type: 'string', value: 'format', description: 'text (default) or json' },
    json: { type: 'boolean', description: 'the same as --format json' },
  },
  description: [
    'Runs a table of policy cases, in the format the Express and Koa suites share',
    '(test/cases/policy-cases.yaml): named policies, and cases of one request each with a',
    'policy (a name, { base, merge } merged one level deep, or none: the --policy file), a request',
    '{ method, path, token: { client, scopes, claims } | null } and what to expect: status,',
    'challenge (the exact WWW-Authenticate) and decisions (allowed, reason, mode, route, required,',
    'violations). Each request is judged by core decideRoute, the route found from the policy',
    'templates as explain finds it (request.route names it instead). Without an app, what the app',
    'decides is not checked: the handler, decision records after the first (requireScopes), and',
    'requests refused before routing (decisions: []). A failing case prints its explanation.',
  ].join('\n'),
  exitCodes: [
    [EXIT.ok, 'every case passed (or was skipped)'],
    [EXIT.failed, 'a case failed'],
    [
      EXIT.usage,
      'bad arguments; the table or policy cannot be read, has a YAML error or is malformed',
    ],
  ],
  examples: [
    'scopeguard test policy-cases.yaml --realm items-api',
    'scopeguard test cases.yaml --policy scopeguard.policy.yaml',
    'scopeguard test cases.yaml --policy scopeguard.policy.yaml --filter tenant --json',
  ],
  async run(args, { out, cwd }) {
    const format = formatOption(args, ['text', 'json'])
    const source = await readSource(args.positionals[0] ?? '', cwd)
    const table = parseCaseTable(source)
    const policySpec = stringOption(args, 'policy')
    const base = policySpec === undefined ? undefined : await readPolicy(policySpec, cwd)
    const realm = stringOption(args, 'realm') ?? 'api'
    const filter = stringOption(args, 'filter')?.toLowerCase()
    const cases = table.cases.filter(
      (c) => filter === undefined || c.name.toLowerCase().includes(filter),
    )
    const policies = createPolicyResolver(table, base)
    const results = cases.map((c): CaseResult => {
      const resolved = policies(c)
      if ('problems' in resolved) {
        return {
          name: c.name,
          result: 'fail',
          checks: [],
          notes: resolved.problems,
          explanation: undefined,
        }
      }
      return runCase(resolved.policy, c, realm)
    })
    const count = (kind: CaseResult['result']) => results.filter((r) => r.result === kind).length
    const summary = { passed: count('pass'), failed: count('fail'), skipped: count('skip') }
    if (format === 'json') {
      out.line(
        JSON.stringify(
          {
            file: source.name,
            policy:
              base === undefined ? null : { file: base.source.name, version: base.policy.version },
            realm,
            results: results.map((r) => ({
              ...r,
              explanation: r.result === 'fail' ? r.explanation : undefined,
            })),
            summary,
            ok: summary.failed === 0,
          },
          null,
          2,
        ),
      )
    } else {
      printText(out, results, summary)
    }
    return summary.failed === 0 ? EXIT.ok : EXIT.failed
  },
}

type Resolved = { readonly policy: CompiledPolicy } | { readonly problems: readonly string[] }

/** The compiled policy of each case, each distinct policy validated and compiled once. */
function createPolicyResolver(
  table: CaseTable,
  base: LoadedPolicy | undefined,
): (c: PolicyCase) => Resolved {
  const cache = new Map<string, Resolved>()
  return (c) => {
    const ref = c.policy
    if (ref === undefined) {
      if (base === undefined)
        throw inputError(`case ${JSON.stringify(c.name)} names no policy: pass --policy <file>`)
      return { policy: base.policy }
    }
    let document: unknown
    if (typeof ref === 'string') {
      document = table.policies[ref]
    } else {
      const from = ref.base === undefined ? base?.document : table.policies[ref.base]
      if (from === undefined)
        throw inputError(
          `case ${JSON.stringify(c.name)} merges into no policy: name a base or pass --policy <file>`,
        )
      document = merge(from, ref.merge ?? {})
    }
    // Given as an object, as the middleware reads a policy object: JSON, validated the same way.
    const text = JSON.stringify(document, null, 2)
    let resolved = cache.get(text)
    if (resolved === undefined) {
      const validation = validatePolicySource(text, { format: 'json' })
      resolved =
        validation.document === undefined
          ? {
              problems: validation.problems
                .filter((problem) => problem.severity === 'error')
                .map(
                  (problem) =>
                    `the case's policy is invalid: ${problem.pointer || '/'}: ${problem.message}`,
                ),
            }
          : { policy: compilePolicy(validation.document, text) }
      cache.set(text, resolved)
    }
    return resolved
  }
}

/** The members of `changes` merged one level deep into those of `base`. */
function merge(base: unknown, changes: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const merged: Record<string, unknown> = isRecord(base) ? { ...base } : {}
  for (const [member, value] of Object.entries(changes)) {
    const current = merged[member]
    merged[member] = isRecord(current) && isRecord(value) ? { ...current, ...value } : value
  }
  return merged
}

function printText(
  out: Output,
  results: readonly CaseResult[],
  summary: { passed: number; failed: number; skipped: number },
): void {
  const { style } = out
  for (const result of results) {
    const label =
      result.result === 'pass'
        ? style.green('PASS')
        : result.result === 'fail'
          ? style.red('FAIL')
          : style.dim('SKIP')
    out.line(`${label}  ${result.name}`)
    for (const note of result.notes) out.line(style.dim(`      ${note}`))
    if (result.result !== 'fail') continue
    for (const check of result.checks.filter((one) => !one.ok)) {
      out.line(
        `      ${check.what}: expected ${JSON.stringify(check.expected)}, got ${style.red(JSON.stringify(check.actual))}`,
      )
    }
    if (result.explanation !== undefined)
      printExplanation(out, result.explanation, { indent: '      ' })
  }
  out.line('')
  const line = `${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`
  out.line(summary.failed === 0 ? style.green(line) : style.red(line))
}
