// `scopeguard test`: policy table cases, in the format the adapter suites share.
import { rmSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { FIXTURES, lines, scopeguard, writeBrokenYaml } from './run-cli.js'

describe('scopeguard test', () => {
  it('runs cases against the --policy file, merges into it, and skips what needs the app', async () => {
    const result = await scopeguard([
      'test',
      `${FIXTURES}/items.cases.yaml`,
      '--policy',
      `${FIXTURES}/items.policy.yaml`,
    ])
    expect(result.code).toBe(0)
    expect(lines(result.stdout)).toEqual([
      'PASS  a reader lists items',
      'PASS  a reader cannot create items',
      'PASS  no token, no items',
      'PASS  tenant isolation',
      'PASS  the route given by template, as the router dispatches it',
      "PASS  merged into the --policy file, the writer's baseline no longer blocks admin",
      'SKIP  a request refused before routing is skipped',
      '      no decision record expected: the request is refused before routing, which needs the app',
      '6 passed, 0 failed, 1 skipped',
    ])
  })

  it('runs the table of the Express and Koa suites (test/cases/policy-cases.yaml)', async () => {
    const result = await scopeguard([
      'test',
      'test/cases/policy-cases.yaml',
      '--realm',
      'items-api',
      '--json',
    ])
    expect(result.code, result.stdout.slice(0, 4000)).toBe(0)
    const report = JSON.parse(result.stdout) as {
      summary: { passed: number; failed: number; skipped: number }
      results: { name: string; result: string; notes: string[] }[]
    }
    expect(report.summary.failed).toBe(0)
    expect(report.summary.passed).toBeGreaterThanOrEqual(30)
    // A case whose second record comes from requireScopes() checks the rule's record only.
    const partial = report.results.find((r) => r.name === 'the rule passes, requireScopes refuses')
    expect(partial?.notes).toEqual([
      '1 later decision record (requireScopes() in the app) not checked, nor the status and challenge they decide',
    ])
  })

  it('prints the explanation of a failing case and exits 1', async () => {
    const result = await scopeguard(['test', `${FIXTURES}/failing.cases.yaml`])
    expect(result.code).toBe(1)
    const out = lines(result.stdout)
    expect(out.slice(0, 5)).toEqual([
      'PASS  a reader reads',
      'FAIL  a reader deletes',
      '      status: expected 204, got 403',
      '      decision.allowed: expected true, got false',
      '      decision.violations: expected [], got ["insufficient_scope"]',
    ])
    expect(out).toContain(
      '      requirement fail   delete:items: not satisfied, missing delete:items (mode enforce)',
    )
    expect(out).toContain(
      '                  WWW-Authenticate: Bearer realm="api", error="insufficient_scope", scope="delete:items"',
    )
    expect(out.at(-1)).toBe('1 passed, 1 failed, 0 skipped')
  })

  it('hints at --realm when only the realm of a challenge differs', async () => {
    const result = await scopeguard([
      'test',
      'test/cases/policy-cases.yaml',
      '--filter',
      'or-requirement names its first',
    ])
    expect(result.code).toBe(1)
    expect(result.stdout).toContain(
      'the expected challenge has realm "items-api": pass --realm "items-api"',
    )
  })

  it('says in one line where the YAML of a case table is broken: exit 2', async () => {
    const dir = writeBrokenYaml()
    try {
      const result = await scopeguard(['test', 'syntax-error.cases.yaml'], { cwd: dir })
      expect(result.code).toBe(2)
      expect(result.stdout).toBe('')
      expect(result.stderr).toMatch(
        /^scopeguard test: syntax-error\.cases\.yaml:4:5: invalid YAML: [^\n]+\n$/,
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('refuses cases that name no policy without --policy, and a missing table: exit 2', async () => {
    const noPolicy = await scopeguard(['test', `${FIXTURES}/items.cases.yaml`])
    expect(noPolicy.code).toBe(2)
    expect(noPolicy.stderr).toBe(
      'scopeguard test: case "a reader lists items" names no policy: pass --policy <file>\n',
    )
    const missing = await scopeguard(['test', `${FIXTURES}/nope.yaml`])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toBe(
      `scopeguard test: cannot read ${FIXTURES}/nope.yaml: no such file\n`,
    )
  })
})
