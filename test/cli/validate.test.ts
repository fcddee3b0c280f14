// `scopeguard validate`: core's checks, review warnings, formats and exit codes.
import { rmSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FIXTURES, lines, scopeguard, writeBrokenYaml } from './run-cli.js'

let broken: string
beforeAll(() => {
  broken = writeBrokenYaml()
})
afterAll(() => rmSync(broken, { recursive: true, force: true }))

describe('scopeguard validate', () => {
  it('passes a valid policy: exit 0 and a summary', async () => {
    const result = await scopeguard(['validate', `${FIXTURES}/items.policy.yaml`])
    expect(result.code).toBe(0)
    expect(result.stdout).toBe(`${FIXTURES}/items.policy.yaml is valid: 7 routes, 0 warnings\n`)
    expect(result.stderr).toBe('')
  })

  it('reports every error as "error file:line:column pointer: message", sorted, and exits 1', async () => {
    const result = await scopeguard(['validate', `${FIXTURES}/invalid.policy.yaml`])
    expect(result.code).toBe(1)
    const out = lines(result.stdout)
    expect(out[0]).toMatch(
      /^error test\/cli\/fixtures\/invalid\.policy\.yaml:4:20 \/scopes\/ops\/implies\/0: "implies" forms a cycle/,
    )
    expect(out[1]).toMatch(
      /^error test\/cli\/fixtures\/invalid\.policy\.yaml:8:22 \/routes\/DELETE ~1items~1:id: scope "delete:item" is not in the catalog/,
    )
    expect(out[2]).toMatch(
      /:10:21 \/clients\/reader\/allow\/0: scope "read:itemz" .*did you mean "read:items"/,
    )
    expect(out[3]).toBe(`${FIXTURES}/invalid.policy.yaml: 3 errors, 0 warnings`)
  })

  it('reports a YAML syntax error with its position: exit 1, the check failed', async () => {
    const result = await scopeguard(['validate', 'syntax-error.policy.yaml'], { cwd: broken })
    expect(result.code).toBe(1)
    expect(lines(result.stdout)[0]).toMatch(
      /^error syntax-error\.policy\.yaml:6:1 \/: invalid YAML: /,
    )
  })

  it('adds the review warnings, each with its rule, without failing', async () => {
    const result = await scopeguard(['validate', `${FIXTURES}/lint.policy.yaml`])
    expect(result.code).toBe(0)
    const out = lines(result.stdout)
    expect(out).toHaveLength(6)
    expect(out[0]).toMatch(
      /^warning .*lint\.policy\.yaml:7:3 \/scopes\/items:\*: scope "items:\*" looks like a wildcard.*\[wildcard-scope\]$/,
    )
    expect(out[1]).toMatch(
      /:11:19 \/routes\/GET ~1items~1:id: GET \/items\/:id requires "write:items", which grants write access, but GET only reads: require "read:items" .*\[broad-read-requirement\]$/,
    )
    expect(out[2]).toMatch(
      /\/routes\/GET ~1admin~1report: GET \/admin\/report requires "admin".*\[broad-read-requirement\]$/,
    )
    expect(out[3]).toMatch(
      /\/routes\/GET ~1reports\/mode: GET \/reports is in monitor mode.*\[monitor-mode\]$/,
    )
    expect(out[4]).toMatch(
      /\/clients\/reader\/allow\/1: client "reader" may hold "export:items", but no route .*\[unused-baseline-scope\]$/,
    )
    expect(out[5]).toBe(`${FIXTURES}/lint.policy.yaml is valid: 5 routes, 5 warnings`)
    // POST may need write access: `write:items or admin` on POST is no warning.
    expect(result.stdout).not.toContain('POST /items')
  })

  it('fails on warnings with --strict, and --skip leaves rules out', async () => {
    const file = `${FIXTURES}/lint.policy.yaml`
    expect((await scopeguard(['validate', file, '--strict'])).code).toBe(1)
    const skipped = await scopeguard([
      'validate',
      file,
      '--strict',
      '--skip',
      'wildcard-scope,broad-read-requirement,monitor-mode,unused-baseline-scope',
    ])
    expect(skipped.code).toBe(0)
    expect(skipped.stdout).toBe(`${file} is valid: 5 routes, 0 warnings\n`)
    expect((await scopeguard(['validate', file, '--strict', '--skip', 'all'])).code).toBe(0)
    const unknown = await scopeguard(['validate', file, '--skip', 'nonsense'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/^scopeguard validate: --skip: unknown rule "nonsense"/)
  })

  it('writes JSON with --json', async () => {
    const result = await scopeguard(['validate', `${FIXTURES}/lint.policy.yaml`, '--json'])
    expect(result.code).toBe(0)
    const report = JSON.parse(result.stdout) as {
      valid: boolean
      errors: number
      warnings: number
      problems: { severity: string; line: number; column: number; pointer: string; rule?: string }[]
    }
    expect(report).toMatchObject({ valid: true, errors: 0, warnings: 5 })
    expect(report.problems[0]).toMatchObject({
      severity: 'warning',
      line: 7,
      column: 3,
      pointer: '/scopes/items:*',
      rule: 'wildcard-scope',
    })
  })

  it('writes GitHub Actions annotations with --format github', async () => {
    const result = await scopeguard([
      'validate',
      `${FIXTURES}/invalid.policy.yaml`,
      '--format',
      'github',
    ])
    expect(result.code).toBe(1)
    expect(lines(result.stdout)[1]).toBe(
      '::error file=test/cli/fixtures/invalid.policy.yaml,line=8,col=22,title=scopeguard::' +
        '/routes/DELETE ~1items~1:id: scope "delete:item" is not in the catalog: add it under "scopes" or fix the name',
    )
  })

  it('says in one line on stderr that a file is missing: exit 2, no stack trace', async () => {
    const result = await scopeguard(['validate', `${FIXTURES}/nope.yaml`])
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toBe(
      `scopeguard validate: cannot read ${FIXTURES}/nope.yaml: no such file\n`,
    )
  })

  it('shows the stack of an error with --debug', async () => {
    const result = await scopeguard(['validate', `${FIXTURES}/nope.yaml`, '--debug'])
    expect(result.code).toBe(2)
    expect(lines(result.stderr)[0]).toBe(
      `scopeguard validate: cannot read ${FIXTURES}/nope.yaml: no such file`,
    )
    expect(result.stderr).toMatch(/CliError: cannot read .*\n\s+at /)
    expect(result.stderr).toContain('ENOENT')
  })

  it('says that a directory is not a file', async () => {
    const result = await scopeguard(['validate', FIXTURES])
    expect(result.code).toBe(2)
    expect(result.stderr).toBe(
      `scopeguard validate: cannot read ${FIXTURES}: it is a directory, not a file\n`,
    )
  })
})
