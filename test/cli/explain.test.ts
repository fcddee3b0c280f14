// `scopeguard explain`: one request judged by core's decideRoute, step by step.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { FIXTURES, lines, scopeguard } from './run-cli.js'

const POLICY = `${FIXTURES}/items.policy.yaml`

interface ExplainJson {
  route: { method: string; template: string; params: Record<string, unknown>; rule: string | null }
  steps: { step: string; verdict: string; detail: string }[]
  decision: {
    allowed: boolean
    status: number
    reason: string
    mode: string
    headers: Record<string, string>
    violations: { type: string; enforced: boolean }[]
  }
  note: string
}

async function explainJson(args: string[]): Promise<ExplainJson> {
  const result = await scopeguard(['explain', POLICY, ...args, '--json'])
  expect(result.code, result.stderr).toBe(0)
  return JSON.parse(result.stdout) as ExplainJson
}

describe('scopeguard explain', () => {
  it('explains an allowed request through implies, step by step', async () => {
    const result = await scopeguard([
      'explain',
      POLICY,
      'GET',
      '/api/v1/items/7',
      '--scopes',
      'write:items',
      '--client',
      'writer',
    ])
    expect(result.code).toBe(0)
    const out = lines(result.stdout)
    expect(out[0]).toBe('request     GET /api/v1/items/7')
    expect(out[1]).toBe('token       client writer; scopes write:items')
    expect(out[2]).toMatch(
      /^policy {6}test\/cli\/fixtures\/items\.policy\.yaml \(sha256:[0-9a-f]{16}\)$/,
    )
    expect(out.slice(3)).toEqual([
      'route       info   rule GET /api/v1/items/:id (params id="7")',
      'scopes      info   the token has write:items; through implies also read:items',
      'requirement pass   read:items: satisfied by read:items',
      'baseline    pass   client writer may hold every scope of the token',
      'contract    skip   no ramp contract for this client',
      'decision    allowed 200, mode enforce',
      "note: explain matches the path against the policy's route templates; the running " +
        'middleware judges the route its router dispatched (mount prefixes included): name it ' +
        'with --route when they differ',
    ])
  })

  it('shows the status and WWW-Authenticate header of a denial, with the realm given', async () => {
    const result = await scopeguard([
      'explain',
      POLICY,
      'post',
      '/api/v1/items',
      '--scopes',
      'read:items',
      '--client',
      'reader',
      '--realm',
      'items-api',
    ])
    expect(result.code).toBe(0)
    const out = lines(result.stdout)
    expect(out).toContain(
      'requirement fail   write:items: not satisfied, missing write:items (mode enforce)',
    )
    expect(out).toContain(
      'decision    denied 403 scope_insufficient (ERR_SG_SCOPE_INSUFFICIENT), mode enforce; violations: insufficient_scope',
    )
    expect(out).toContain(
      '            WWW-Authenticate: Bearer realm="items-api", error="insufficient_scope", scope="write:items"',
    )
  })

  it('checks conditions against the claims, and records an over-scope alert', async () => {
    const explanation = await explainJson([
      'GET',
      '/api/v1/tenants/b/items',
      '--scopes',
      'read:items delete:items',
      '--client',
      'reader',
      '--claims',
      '{"tenant":"a"}',
    ])
    expect(explanation.route).toMatchObject({
      template: '/api/v1/tenants/:tenantId/items',
      params: { tenantId: 'b' },
      rule: 'GET /api/v1/tenants/:tenantId/items',
    })
    expect(explanation.steps.find((s) => s.step === 'condition')).toEqual({
      step: 'condition',
      verdict: 'fail',
      detail: 'claim tenant is "a", must equal param tenantId ("b")',
    })
    expect(explanation.steps.find((s) => s.step === 'baseline')?.verdict).toBe('record')
    expect(explanation.decision).toMatchObject({
      allowed: false,
      status: 403,
      reason: 'policy_denied',
      headers: { 'www-authenticate': 'Bearer realm="api", error="insufficient_scope"' },
      violations: [
        { type: 'condition_failed', enforced: true },
        { type: 'over_scope', enforced: false },
      ],
    })
  })

  it('judges HEAD by the GET rule and a request without token as 401', async () => {
    const explanation = await explainJson(['HEAD', '/api/v1/items'])
    expect(explanation.route).toMatchObject({ method: 'GET', rule: 'GET /api/v1/items' })
    expect(explanation.steps[0]?.detail).toContain(
      'HEAD runs the GET handlers, so the GET rule judges it',
    )
    expect(explanation.decision).toMatchObject({
      allowed: false,
      status: 401,
      reason: 'token_missing',
      headers: { 'www-authenticate': 'Bearer realm="api"' },
    })
  })

  it('judges other methods by an ALL rule, and a ramp contract at its current stage', async () => {
    const all = await explainJson([
      'PATCH',
      '/api/v1/everything',
      '--scopes',
      'admin',
      '--client',
      'ops-console',
    ])
    expect(all.route.rule).toBe('ALL /api/v1/everything')
    expect(all.decision.allowed).toBe(true)
    const outside = await explainJson([
      'POST',
      '/api/v1/items',
      '--scopes',
      'read:items write:items',
      '--client',
      'billing-svc',
    ])
    expect(outside.steps.find((s) => s.step === 'contract')).toEqual({
      step: 'contract',
      verdict: 'fail',
      detail:
        'contract billing-rollout, stage read-only (enforce) allows read:items: the call uses write:items, outside the stage',
    })
    expect(outside.decision.reason).toBe('policy_denied')
  })

  it('explains a path no rule matches as unmapped', async () => {
    const explanation = await explainJson([
      'PUT',
      '/api/v1/nothing',
      '--scopes',
      'admin',
      '--client',
      'ops-console',
    ])
    expect(explanation.route.rule).toBeNull()
    expect(explanation.steps[0]?.detail).toMatch(
      /^no rule's template matches the path\. The request is unmapped \(defaults\.unmatched: deny\), whether the app serves it with a route, with middleware, or not at all$/,
    )
    expect(explanation.decision).toMatchObject({ status: 403, reason: 'route_unmapped' })
  })

  it('takes the dispatched template from --route', async () => {
    const explanation = await explainJson([
      'GET',
      '/api/v1/items/new',
      '--route',
      '/api/v1/items/:id',
      '--scopes',
      'read:items',
    ])
    expect(explanation.route).toMatchObject({
      template: '/api/v1/items/:id',
      params: { id: 'new' },
    })
    const mismatch = await scopeguard([
      'explain',
      POLICY,
      'GET',
      '/other',
      '--route',
      '/api/v1/items/:id',
    ])
    expect(mismatch.code).toBe(2)
    expect(mismatch.stderr).toBe(
      'scopeguard explain: the path /other does not match the route template /api/v1/items/:id\n',
    )
  })

  it('refuses bad claims, a bad method and a missing path: exit 2', async () => {
    const claims = await scopeguard(['explain', POLICY, 'GET', '/api/v1/items', '--claims', '[1]'])
    expect(claims.code).toBe(2)
    expect(claims.stderr).toBe(
      'scopeguard explain: --claims must be a JSON object, like {"tenant":"a"} (see scopeguard explain --help)\n',
    )
    const method = await scopeguard(['explain', POLICY, 'G E T', '/api/v1/items'])
    expect(method.code).toBe(2)
    const path = await scopeguard(['explain', POLICY, 'GET'])
    expect(path.code).toBe(2)
    expect(path.stderr).toBe('scopeguard explain: missing <path> (see scopeguard explain --help)\n')
  })
})

describe('scopeguard explain with step-up rules', () => {
  it('shows the step-up step and the RFC 9470 challenge', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scopeguard-explain-'))
    const policy = join(dir, 'step-up.policy.yaml')
    writeFileSync(
      policy,
      [
        'version: 1',
        'scopes: { read:items: {} }',
        'routes:',
        '  GET /items: { require: read:items, acr: [phr], maxAge: 300 }',
      ].join('\n'),
    )
    try {
      const run = async (claims: object): Promise<string[]> => {
        const result = await scopeguard([
          'explain',
          policy,
          'GET',
          '/items',
          '--scopes',
          'read:items',
          '--claims',
          JSON.stringify(claims),
        ])
        expect(result.code, result.stderr).toBe(0)
        return lines(result.stdout)
      }
      const weak = await run({ acr: 'bronze' })
      expect(weak).toContain(
        'step-up     fail   acr one of phr, auth_time at most 300 s ago: not met, the token has acr "bronze", auth_time null (mode enforce: 401 insufficient_user_authentication)',
      )
      expect(weak).toContain(
        'decision    denied 401 authentication_insufficient (ERR_SG_AUTHENTICATION_INSUFFICIENT), mode enforce; violations: insufficient_user_authentication',
      )
      const strong = await run({ acr: 'phr', auth_time: Math.floor(Date.now() / 1000) })
      expect(strong.find((line) => line.startsWith('step-up'))).toMatch(/^step-up {5}pass {3}/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
