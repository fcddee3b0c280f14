// `scopeguard check-client`: a client's requested scopes against its baseline and contract.
import { describe, expect, it } from 'vitest'
import { FIXTURES, lines, scopeguard } from './run-cli.js'

const POLICY = `${FIXTURES}/items.policy.yaml`

describe('scopeguard check-client', () => {
  it('passes scopes within the baseline (closed under implies)', async () => {
    const result = await scopeguard([
      'check-client',
      POLICY,
      '--client',
      'ops-console',
      '--scopes',
      'admin read:items',
    ])
    expect(result.code).toBe(0)
    expect(lines(result.stdout)).toEqual([
      'client ops-console requesting admin read:items',
      'ok     baseline: may hold admin read:items write:items delete:items ops',
      'none   contract: no ramp contract for this client',
      'within the policy',
    ])
  })

  it('fails a scope outside the baseline', async () => {
    const result = await scopeguard([
      'check-client',
      POLICY,
      '--client',
      'reader',
      '--scopes',
      'read:items openid',
    ])
    expect(result.code).toBe(1)
    expect(lines(result.stdout)).toEqual([
      'client reader requesting read:items openid',
      'failed baseline: may hold read:items; outside it: openid',
      'none   contract: no ramp contract for this client',
      'note   not in the catalog: openid (no rule of this API names them)',
      'not within the policy',
    ])
  })

  it("fails a scope outside the contract's current stage, naming the stage that adds it", async () => {
    const result = await scopeguard([
      'check-client',
      POLICY,
      '--client',
      'billing-svc',
      '--scopes',
      'read:items write:items',
      '--json',
    ])
    expect(result.code).toBe(1)
    expect(JSON.parse(result.stdout)).toEqual({
      client: 'billing-svc',
      scopes: ['read:items', 'write:items'],
      ok: false,
      unknown: [],
      baseline: {
        status: 'none',
        reason: 'the client has no baseline (defaults.unknownClients: allow)',
      },
      contract: {
        status: 'failed',
        name: 'billing-rollout',
        stage: 'read-only',
        mode: 'enforce',
        allow: ['read:items'],
        outside: [{ scope: 'write:items', stage: 'read-write' }],
      },
    })
  })

  it('needs --client and --scopes', async () => {
    const result = await scopeguard(['check-client', POLICY, '--client', 'reader'])
    expect(result.code).toBe(2)
    expect(result.stderr).toBe(
      'scopeguard check-client: --scopes is required (see scopeguard check-client --help)\n',
    )
  })
})
