/**
 * RFC 9470 step-up authentication: policy rules with `acr` and `maxAge`, on both adapters
 * over real HTTP with tokens signed by a real key. A failing token gets 401
 * `insufficient_user_authentication` with the `acr_values` / `max_age` challenge parameters;
 * just-in-time elevation grants scopes and never satisfies it.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import {
  diffPolicies,
  compilePolicy,
  validatePolicySource,
  type DecisionEvent,
  type PolicyDocument,
  type ScopeguardEvent,
  ScopeguardConfigError,
} from '@scopeguard/core'
import * as sgExpress from '@scopeguard/express'
import { schemaVerdict } from '../support/events-schema.js'
import { SERVED_ADAPTERS, sendTls, type ServedApi } from '../support/served-apps.js'
import {
  AUDIENCE,
  createStaticSigner,
  ISSUER,
  type StaticSigner,
} from '../support/static-signer.js'

const SILVER = 'urn:mace:incommon:iap:silver'
const POLICY: PolicyDocument = {
  version: 1,
  scopes: { 'read:items': {}, 'write:items': { implies: ['read:items'], elevatable: true } },
  routes: {
    'GET /items': { require: 'read:items', maxAge: 600 },
    'POST /transfers': { require: 'write:items', acr: [SILVER, 'phr'], maxAge: 300 },
    'POST /items': { require: 'write:items', acr: ['phr'], mode: 'monitor' },
  },
}
const WWW = 'www-authenticate'

let signer: StaticSigner
beforeAll(async () => {
  signer = await createStaticSigner()
})

const now = (): number => Math.floor(Date.now() / 1000)

describe.each(SERVED_ADAPTERS)('%s adapter: step-up authentication', (_name, start) => {
  let api: ServedApi
  const events: DecisionEvent[] = []
  const all: ScopeguardEvent[] = []
  beforeAll(async () => {
    api = await start(() => ({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: signer.keys,
      policy: POLICY,
      onEvent: (event) => {
        all.push(event)
        if (event.type === 'decision') events.push(event)
      },
    }))
    return async () => {
      await api.close()
      // Every decision and violation of the suite, denials and monitor records, is documented.
      expect(all.filter((e) => e.type === 'violation').length).toBeGreaterThan(0)
      expect(all.map(schemaVerdict)).toEqual(all.map(() => 'valid'))
    }
  })
  const call = async (method: string, path: string, claims: Record<string, unknown>) =>
    sendTls(`${api.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${await signer.sign({ client_id: 'teller', sub: 'alice', ...claims })}`,
      },
    })
  const writer = { scope: 'write:items' }
  const acrChallenge =
    'Bearer realm="api", error="insufficient_user_authentication", ' +
    `error_description="A different authentication level is required", acr_values="${SILVER} phr", max_age="300"`
  const ageChallenge =
    'Bearer realm="api", error="insufficient_user_authentication", ' +
    `error_description="More recent authentication is required", acr_values="${SILVER} phr", max_age="300"`

  it.each([
    ['no acr', {}, 401, acrChallenge],
    ['another acr', { acr: 'bronze', auth_time: now() }, 401, acrChallenge],
    ['an acr as a list', { acr: [SILVER], auth_time: now() }, 401, acrChallenge],
    ['an accepted acr, no auth_time', { acr: SILVER }, 401, ageChallenge],
    [
      'an accepted acr, auth_time too old',
      { acr: 'phr', auth_time: now() - 900 },
      401,
      ageChallenge,
    ],
    [
      'an accepted acr, auth_time as text',
      { acr: 'phr', auth_time: `${now()}` },
      401,
      ageChallenge,
    ],
    ['an accepted acr, recent auth_time', { acr: SILVER, auth_time: now() - 60 }, 201, undefined],
  ])('POST /transfers with %s', async (_case, claims, status, challenge) => {
    const response = await call('POST', '/transfers', { ...writer, ...claims })
    expect(response.status).toBe(status)
    expect(response.headers[WWW]).toBe(challenge)
  })

  it('asks for step-up before scopes, and for scopes once authentication is enough', async () => {
    const reader = await call('POST', '/transfers', { scope: 'read:items' })
    expect(reader.status).toBe(401)
    expect(reader.headers[WWW]).toBe(acrChallenge)
    const steppedUp = await call('POST', '/transfers', {
      scope: 'read:items',
      acr: 'phr',
      auth_time: now(),
    })
    expect(steppedUp.status).toBe(403)
    expect(steppedUp.headers[WWW]).toBe(
      'Bearer realm="api", error="insufficient_scope", scope="write:items"',
    )
  })

  it('checks maxAge alone, and records step-up failures of monitor rules without denying', async () => {
    const old = await call('GET', '/items', { scope: 'read:items', auth_time: now() - 3600 })
    expect(old.status).toBe(401)
    expect(old.headers[WWW]).toBe(
      'Bearer realm="api", error="insufficient_user_authentication", ' +
        'error_description="More recent authentication is required", max_age="600"',
    )
    expect((await call('GET', '/items', { scope: 'read:items', auth_time: now() })).status).toBe(
      200,
    )
    events.length = 0
    expect((await call('POST', '/items', writer)).status).toBe(201)
    await api.flush()
    expect(events.at(-1)).toMatchObject({
      allowed: true,
      violations: [
        {
          type: 'insufficient_user_authentication',
          mode: 'monitor',
          enforced: false,
          expected: { acr: ['phr'], maxAge: null },
          seen: { acr: null, auth_time: null },
        },
      ],
    })
  })

  it('never lets an elevation satisfy step-up: it grants scopes, not authentication', async () => {
    const grant = await api.elevate({
      clientId: 'teller',
      scopes: ['write:items'],
      ttl: 600,
      reason: 'incident 7',
      approvedBy: 'oncall-lead',
    })
    try {
      events.length = 0
      const plain = await call('POST', '/transfers', { scope: 'read:items' })
      expect(plain.status).toBe(401)
      expect(plain.headers[WWW]).toBe(acrChallenge)
      const steppedUp = await call('POST', '/transfers', {
        scope: 'read:items',
        acr: SILVER,
        auth_time: now(),
      })
      expect(steppedUp.status).toBe(201) // authentication from the token, write:items from the grant
      await api.flush()
      expect(events[0]).toMatchObject({
        allowed: false,
        status: 401,
        reason: 'authentication_insufficient',
      })
    } finally {
      await api.revokeElevation(grant.id)
    }
  })
})

describe.each(SERVED_ADAPTERS)('%s adapter: requireAuthentication()', (_name, start) => {
  let api: ServedApi
  const all: ScopeguardEvent[] = []
  beforeAll(async () => {
    // No policy: the route is guarded in code only.
    api = await start(() => ({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: signer.keys,
      onEvent: (event) => void all.push(event),
    }))
    return async () => {
      await api.close()
      expect(all.map(schemaVerdict)).toEqual(all.map(() => 'valid'))
    }
  })
  const pay = async (claims: Record<string, unknown>) =>
    sendTls(`${api.url}/payments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await signer.sign({ client_id: 'teller', ...claims })}` },
    })

  it('answers 401 with the challenge, then lets requireScopes judge the scopes', async () => {
    const weak = await pay({ scope: 'write:items', acr: 'bronze', auth_time: now() })
    expect(weak.status).toBe(401)
    expect(weak.headers[WWW]).toBe(
      'Bearer realm="api", error="insufficient_user_authentication", ' +
        'error_description="A different authentication level is required", acr_values="phr", max_age="300"',
    )
    const stale = await pay({ scope: 'write:items', acr: 'phr', auth_time: now() - 301 - 5 })
    expect(stale.status).toBe(401)
    expect(stale.headers[WWW]).toContain(
      'error_description="More recent authentication is required"',
    )
    const reader = await pay({ scope: 'read:items', acr: 'phr', auth_time: now() })
    expect(reader.status).toBe(403)
    expect((await pay({ scope: 'write:items', acr: 'phr', auth_time: now() })).status).toBe(201)
    await api.flush()
    const denials = all.filter((e) => e.type === 'decision' && !e.allowed)
    expect(denials.map((e) => e.type === 'decision' && e.reason)).toEqual([
      'authentication_insufficient',
      'authentication_insufficient',
      'scope_insufficient',
    ])
  })

  it('refuses a requirement it cannot check, at start-up', () => {
    for (const requirement of [
      {},
      { acr: [] },
      { acr: ['two words'] },
      { maxAge: -1 },
      { maxAge: 1.5 },
    ])
      expect(() => sgExpress.requireAuthentication(requirement)).toThrow(ScopeguardConfigError)
  })
})

describe('step-up rules in the policy', () => {
  it('refuses acr and maxAge on a public route, and acr values a challenge cannot carry', () => {
    const { problems } = validatePolicySource(
      JSON.stringify({
        version: 1,
        scopes: { 'read:items': {} },
        routes: {
          'GET /health': { public: true, acr: ['phr'], maxAge: 60 },
          'GET /items': { require: 'read:items', acr: ['two words'], maxAge: -1 },
        },
      }),
      { format: 'json' },
    )
    const pointers = problems.filter((p) => p.severity === 'error').map((p) => p.pointer)
    expect(pointers).toEqual(
      expect.arrayContaining([
        '/routes/GET ~1health/acr',
        '/routes/GET ~1health/maxAge',
        '/routes/GET ~1items/acr/0',
        '/routes/GET ~1items/maxAge',
      ]),
    )
  })

  it('classifies step-up changes as widening or narrowing in diffs', () => {
    const policy = (rule: object): ReturnType<typeof compilePolicy> => {
      const document = {
        version: 1,
        scopes: { 'read:items': {} },
        routes: { 'GET /items': { require: 'read:items', ...rule } },
      } as PolicyDocument
      return compilePolicy(document, JSON.stringify(document))
    }
    const kinds = (before: object, after: object): string[] =>
      diffPolicies(policy(before), policy(after)).map((c) => `${c.kind} ${c.description}`)
    expect(kinds({}, { acr: ['phr'] })).toEqual(['narrowing acr (any) → phr'])
    expect(kinds({ acr: ['phr'] }, { acr: ['phr', 'bronze'] })).toEqual([
      'widening acr phr → phr bronze',
    ])
    expect(kinds({ acr: ['phr'] }, {})).toEqual(['widening acr phr → (any)'])
    expect(kinds({ maxAge: 300 }, { maxAge: 60 })).toEqual(['narrowing maxAge 300 s → 60 s'])
    expect(kinds({ maxAge: 300 }, {})).toEqual(['widening maxAge 300 s → (none)'])
  })
})
