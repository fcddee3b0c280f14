// `scopeguard coverage`: the routes of real Express and Koa app modules against a policy.
import { describe, expect, it } from 'vitest'
import { FIXTURES, lines, scopeguard } from './run-cli.js'

const POLICY = `${FIXTURES}/items.policy.yaml`
const EXPRESS_APP = `${FIXTURES}/express-app.mjs`
const KOA_APP = `${FIXTURES}/koa-app.mjs`

describe('scopeguard coverage', () => {
  it('passes an Express app whose every route, mounted Router included, has a rule', async () => {
    const result = await scopeguard(['coverage', '--app', EXPRESS_APP, '--policy', POLICY])
    expect(result.code).toBe(0)
    expect(lines(result.stdout)).toEqual([
      `Express app ${EXPRESS_APP} (default export): 7 routes`,
      `policy ${POLICY}: 7 rules`,
      '7 of 7 routes covered; 0 rules without a route',
    ])
  })

  it('fails on routes without a rule, from a named export', async () => {
    const result = await scopeguard([
      'coverage',
      '--app',
      EXPRESS_APP,
      '--export',
      'leakyApp',
      '--policy',
      POLICY,
    ])
    expect(result.code).toBe(1)
    expect(lines(result.stdout)).toEqual([
      `Express app ${EXPRESS_APP} (export leakyApp): 9 routes`,
      `policy ${POLICY}: 7 rules`,
      'routes without a rule (denied as unmapped):',
      '  DELETE /api/v1/admin/purge',
      '  GET /api/v1/items/:itemId/history',
      '7 of 9 routes covered; 0 rules without a route',
    ])
  })

  it('reads a Koa app (the only app exported) with @koa/router prefixes and nested routers', async () => {
    const result = await scopeguard(['coverage', '--app', KOA_APP, '--policy', POLICY, '--json'])
    expect(result.code).toBe(1)
    const report = JSON.parse(result.stdout) as {
      app: object
      routes: { method: string; path: string; rule: string | null }[]
      uncovered: { method: string; path: string }[]
      unusedRules: unknown[]
      ok: boolean
    }
    expect(report.app).toEqual({ file: KOA_APP, export: 'app', framework: 'koa' })
    expect(report.ok).toBe(false)
    expect(report.uncovered).toEqual([
      { method: 'PATCH', path: '/api/v1/items/:itemId', rule: null },
    ])
    expect(report.routes).toContainEqual({
      method: 'GET',
      path: '/api/v1/tenants/:tenantId/items',
      rule: 'GET /api/v1/tenants/:tenantId/items',
    })
    // router.all() is listed once, as ALL, and judged by the ALL rule.
    expect(report.routes).toContainEqual({
      method: 'ALL',
      path: '/api/v1/everything',
      rule: 'ALL /api/v1/everything',
    })
    expect(report.unusedRules).toEqual([])
  })

  it('points at a rule written with other parameter names, and reports rules without a route', async () => {
    const policy = `${FIXTURES}/params.policy.yaml`
    const result = await scopeguard(['coverage', '--app', EXPRESS_APP, '--policy', policy])
    expect(result.code).toBe(1)
    const out = lines(result.stdout)
    expect(out).toContain(
      '  GET /api/v1/items/:id  (the policy has GET /api/v1/items/:itemId: the middleware looks ' +
        'rules up by the exact template, parameter names included)',
    )
    expect(out).toContain('rules without a route:')
    expect(out).toContain(
      '  GET /api/v1/items/:itemId  the app registers GET /api/v1/items/:id: write the template exactly as the router does',
    )
  })

  it('reports rules without a route, and fails on them only with --strict', async () => {
    const args = ['coverage', '--app', EXPRESS_APP, '--policy', `${FIXTURES}/legacy.policy.yaml`]
    const loose = await scopeguard(args)
    expect(loose.code).toBe(0)
    expect(lines(loose.stdout).slice(2)).toEqual([
      'rules without a route:',
      '  GET /api/v1/legacy  no route of the app has this template',
      '  HEAD /api/v1/items  the app has no HEAD route here: HEAD requests run the GET handlers and are judged by the GET rule',
      '7 of 7 routes covered; 2 rules without a route',
    ])
    const strict = await scopeguard([...args, '--strict'])
    expect(strict.code).toBe(1)
  })

  it('says in one line that the app module throws on import: exit 2, no stack trace', async () => {
    const result = await scopeguard([
      'coverage',
      '--app',
      `${FIXTURES}/throwing-app.mjs`,
      '--policy',
      POLICY,
    ])
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toBe(
      `scopeguard coverage: cannot import ${FIXTURES}/throwing-app.mjs: connect ECONNREFUSED 127.0.0.1:5432\n`,
    )
  })

  it('refuses an export that is not an app, a missing module and a missing export: exit 2', async () => {
    const factory = await scopeguard([
      'coverage',
      '--app',
      `${FIXTURES}/factory-app.mjs`,
      '--policy',
      POLICY,
    ])
    expect(factory.code).toBe(2)
    expect(factory.stderr).toMatch(
      /^scopeguard coverage: the default export of .*factory-app\.mjs is neither an Express app .* export the app itself, not a function that makes one\n$/,
    )
    const missing = await scopeguard([
      'coverage',
      '--app',
      `${FIXTURES}/nope.mjs`,
      '--policy',
      POLICY,
    ])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toBe(
      `scopeguard coverage: cannot import ${FIXTURES}/nope.mjs: no such file\n`,
    )
    const noExport = await scopeguard([
      'coverage',
      '--app',
      EXPRESS_APP,
      '--export',
      'api',
      '--policy',
      POLICY,
    ])
    expect(noExport.code).toBe(2)
    expect(noExport.stderr).toMatch(/has no export "api" \(it exports default, leakyApp\)/)
  })

  it('needs --app and --policy', async () => {
    const result = await scopeguard(['coverage', '--policy', POLICY])
    expect(result.code).toBe(2)
    expect(result.stderr).toBe(
      'scopeguard coverage: --app is required (see scopeguard coverage --help)\n',
    )
  })
})
