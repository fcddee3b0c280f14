import { readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  memorySink,
  memoryStore,
  toLogLine,
  type PolicyDocument,
  type ScopeguardEvent,
  type ScopeguardOptions,
  type Store,
  type StoreChange,
  type StoreStatus,
} from '@scopeguard/core'
import { startExpressApi, type TestApi } from './support/apps.js'
import { bearer, send } from './support/http.js'

/**
 * Every event a real guard emits — decisions, violations, first uses, policy, lifecycle and
 * store events — is valid against docs/events.schema.json, and the schema is tight: an
 * undocumented member fails. The guard runs behind the Express adapter over real HTTP, with
 * real keys; docs/audit.md documents the same events.
 */

// ajv is a dependency of @scopeguard/core, not of the workspace root: load core's copy.
interface ValidateFunction {
  (data: unknown): boolean
  errors?: unknown
}
interface AjvInstance {
  compile(schema: object): ValidateFunction
  errorsText(errors: unknown): string
}
const requireFromCore = createRequire(new URL('../packages/core/package.json', import.meta.url))
const Ajv = (
  requireFromCore('ajv') as { default: new (options: Record<string, unknown>) => AjvInstance }
).default

const schema = JSON.parse(
  readFileSync(new URL('../docs/events.schema.json', import.meta.url), 'utf8'),
) as object
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true })
const validateEvent = ajv.compile(schema)

/** The schema's verdict on one value, with ajv's messages when it fails. */
function verdict(value: unknown): string {
  return validateEvent(value) ? 'valid' : ajv.errorsText(validateEvent.errors)
}

/** The event as sinks ship it: members that are undefined disappear. */
function asJson(event: ScopeguardEvent): Record<string, unknown> {
  return JSON.parse(JSON.stringify(event)) as Record<string, unknown>
}

const issuer = 'https://auth.example.com'
const audience = 'https://items-api.scopeguard.test'
let keys: ScopeguardOptions['keys']
let sign: (clientId: string, scope: string, claims?: Record<string, unknown>) => Promise<string>

/** One policy that makes every kind of decision, violation and first use happen. */
const policy: PolicyDocument = {
  version: 1,
  defaults: { unmatched: 'deny', mode: 'enforce', unknownClients: 'alert' },
  scopes: {
    'read:items': { description: 'List and read items' },
    'write:items': { implies: ['read:items'], elevatable: true },
    'delete:items': {},
    admin: { implies: ['read:items', 'write:items', 'delete:items'] },
  },
  routes: {
    'GET /items': 'read:items',
    'POST /items': 'write:items',
    'DELETE /items/:id': {
      require: 'delete:items or admin',
      conditions: [{ claim: 'tenant', equalsParam: 'id' }],
    },
    // GET /whoami has no rule: unmapped
  },
  clients: {
    reader: { allow: ['read:items'] }, // over_scope alerts (default onOverScope)
    writer: { allow: ['read:items', 'write:items'] },
  },
  contracts: {
    'writer-rollout': {
      client: 'writer',
      stage: 'read-only',
      stages: [
        { name: 'read-only', allow: ['read:items'], mode: 'monitor' },
        { name: 'read-write', allow: ['read:items', 'write:items'] },
      ],
    },
  },
}

beforeAll(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true })
  keys = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1' }] }
  sign = (clientId, scope, claims = {}) =>
    new SignJWT({
      iss: issuer,
      aud: audience,
      exp: Math.floor(Date.now() / 1000) + 600,
      client_id: clientId,
      sub: `user-${clientId}`,
      jti: `token-${clientId}`,
      scope,
      ...claims,
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' })
      .sign(pair.privateKey)
})

describe('audit events match docs/events.schema.json', () => {
  const listened: ScopeguardEvent[] = []
  const sink = memorySink()
  let api: TestApi

  beforeAll(async () => {
    api = await startExpressApi({
      issuer,
      audience,
      keys,
      policy,
      sinks: [sink],
      onEvent: (event) => void listened.push(event),
      audit: { learningPeriod: 0.05, flushInterval: 10 },
    })
    const reader = await sign('reader', 'read:items')
    const overScoped = await sign('reader', 'read:items admin')
    const writer = await sign('writer', 'read:items write:items')
    const ops = await sign('ops', 'admin', { tenant: '7' })
    const get = (path: string, headers: [string, string][] = []): Promise<unknown> =>
      send(`${api.url}${path}`, { headers })

    await new Promise((resolve) => setTimeout(resolve, 100)) // past the learning period
    await get('/items', [bearer(reader)]) // allowed; first use of read:items
    await send(`${api.url}/items`, { method: 'POST', headers: [bearer(reader)] }) // insufficient_scope
    await get('/items', [bearer(`${reader.slice(0, -4)}AAAA`)]) // invalid_token: signature
    await get('/items', [bearer('not.a.jwt')]) // invalid_token: malformed
    await get('/items') // token_missing at the route
    await get('/items', [bearer(reader), bearer(reader)]) // request_invalid: two headers
    await get('/items', [bearer(overScoped)]) // over_scope, alert
    await send(`${api.url}/items`, { method: 'POST', headers: [bearer(writer)] }) // outside_contract, monitor
    await get('/whoami', [bearer(reader)]) // unmapped_route
    await send(`${api.url}/items/8`, { method: 'DELETE', headers: [bearer(ops)] }) // condition_failed
    await send(`${api.url}/items/7`, { method: 'DELETE', headers: [bearer(ops)] }) // unknown_client alert
    await get(`/items/${'x'.repeat(400)}`, [bearer('bad token!')]) // a long path, truncated

    // Run-time controls: lifecycle events, and decisions made under them.
    await api.elevate({
      clientId: 'reader',
      scopes: ['write:items'],
      ttl: 0.5,
      reason: 'INC-7 backfill',
      approvedBy: 'alice@example.com',
    })
    await send(`${api.url}/items`, { method: 'POST', headers: [bearer(reader)] }) // elevated
    await new Promise((resolve) => setTimeout(resolve, 700)) // the grant expires
    const grant = await api.elevate({
      subject: 'user-writer',
      scopes: ['write:items'],
      ttl: 60,
      reason: 'INC-8',
      approvedBy: 'bob@example.com',
    })
    await api.revokeElevation(grant.id)
    await api.revoke({ jti: 'token-reader', reason: 'leaked in a ticket' })
    await get('/items', [bearer(reader)]) // token_invalid: revoked
    await api.unrevoke({ jti: 'token-reader' })
    await api.killSwitch(true, { except: ['writer'], reason: 'incident 42' })
    await api.killSwitch(false)
    await api.flush()
  })
  afterAll(() => api.close())

  it('emits every event type, violation type, reason and mode the test aims at', () => {
    const kinds = new Set(
      listened.map((event) =>
        event.type === 'policy' || event.type === 'lifecycle'
          ? `${event.type}:${event.action}`
          : event.type === 'violation'
            ? `violation:${event.violation.type}`
            : event.type === 'decision'
              ? `decision:${event.reason}:${event.mode}`
              : event.type,
      ),
    )
    expect([...kinds].sort()).toEqual(
      [
        'decision:allowed:enforce',
        'decision:allowed:monitor',
        'decision:policy_denied:enforce',
        'decision:request_invalid:enforce',
        'decision:route_unmapped:enforce',
        'decision:scope_insufficient:enforce',
        'decision:token_invalid:enforce',
        'decision:token_missing:enforce',
        'first_use',
        'lifecycle:elevated',
        'lifecycle:elevation_expired',
        'lifecycle:elevation_revoked',
        'lifecycle:kill_switch_off',
        'lifecycle:kill_switch_on',
        'lifecycle:revoked',
        'lifecycle:unrevoked',
        'policy:loaded',
        'violation:condition_failed',
        'violation:insufficient_scope',
        'violation:invalid_token',
        'violation:outside_contract',
        'violation:over_scope',
        'violation:unknown_client',
        'violation:unmapped_route',
      ].sort(),
    )
    expect(listened).toContainEqual(
      expect.objectContaining({ type: 'decision', clientId: 'reader', elevated: ['write:items'] }),
    )
    expect(listened).toContainEqual(
      expect.objectContaining({ type: 'decision', rejection: 'revoked' }),
    )
  })

  it('validates every event given to onEvent, as the object and as JSON', () => {
    expect(listened.length).toBeGreaterThan(20)
    for (const event of listened) {
      expect(verdict(event), JSON.stringify(event)).toBe('valid')
      expect(verdict(asJson(event)), JSON.stringify(event)).toBe('valid')
    }
  })

  it('gives the sinks exactly the events onEvent got', () => {
    expect(api.auditStats()).toMatchObject({ enqueued: listened.length, dropped: 0, buffered: 0 })
    expect(sink.events).toEqual(listened)
    for (const event of sink.events) expect(verdict(event)).toBe('valid')
  })

  it('never puts a token in an event, and cuts paths at 256 characters', () => {
    const text = JSON.stringify(listened)
    expect(text).not.toMatch(/eyJ[\w-]+\.eyJ/) // no JWT
    expect(text).not.toContain('bad token!')
    const long = listened.find(
      (event) => event.type === 'decision' && event.path?.startsWith('/items/xxx'),
    )
    expect(long).toMatchObject({ path: `/items/${'x'.repeat(249)}` })
  })

  it('writes log lines that are the event plus level and msg, with time in epoch ms', () => {
    for (const event of listened) {
      const line = JSON.parse(toLogLine(event)) as Record<string, unknown>
      const { level, msg, time, ...rest } = line
      const warn =
        event.type === 'violation' ||
        event.type === 'first_use' ||
        (event.type === 'decision' && !event.allowed) ||
        (event.type === 'policy' && event.action === 'rejected')
      expect({ level, msg, time }).toEqual({
        level: warn ? 40 : 30,
        msg: `scopeguard ${event.type}`,
        time: Date.parse(event.time),
      })
      expect(verdict({ ...rest, time: new Date(time as number).toISOString() })).toBe('valid')
    }
  })

  it('rejects what the documentation does not describe', () => {
    const decision = asJson(listened.find((event) => event.type === 'decision') as ScopeguardEvent)
    const violation = asJson(
      listened.find((event) => event.type === 'violation') as ScopeguardEvent,
    )
    expect(verdict(decision)).toBe('valid')
    expect(verdict({ ...decision, token: 'eyJhbGciOi' })).not.toBe('valid')
    expect(verdict({ ...decision, v: 2 })).not.toBe('valid')
    expect(verdict({ ...decision, reason: 'because' })).not.toBe('valid')
    expect(verdict({ ...decision, path: 'x'.repeat(257) })).not.toBe('valid')
    const { decisionId: _id, ...withoutId } = decision
    expect(verdict(withoutId)).not.toBe('valid')
    const inner = violation['violation'] as Record<string, unknown>
    expect(verdict({ ...violation, violation: { ...inner, extra: true } })).not.toBe('valid')
    expect(verdict({ ...violation, violation: { ...inner, type: 'made_up' } })).not.toBe('valid')
    expect(verdict({ type: 'lifecycle', v: 1, time: decision['time'] })).not.toBe('valid')
  })
})

describe('policy events of a policy file match docs/events.schema.json', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'scopeguard-events-'))
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  it('loaded, changed (with a stage move) and rejected', async () => {
    const file = join(dir, 'scopeguard.policy.json')
    await writeFile(file, JSON.stringify(policy))
    const events: ScopeguardEvent[] = []
    const api = await startExpressApi({
      issuer,
      audience,
      keys,
      policy: { file, watch: false },
      onEvent: (event) => void events.push(event),
    })
    try {
      const moved = structuredClone(policy) as {
        routes: Record<string, unknown>
        contracts: Record<string, { stage: string }>
      }
      moved.routes['GET /items'] = 'read:items or write:items'
      ;(moved.contracts['writer-rollout'] as { stage: string }).stage = 'read-write'
      await writeFile(file, JSON.stringify(moved, null, 2))
      expect(await api.reloadPolicy()).toMatchObject({ status: 'changed' })
      await writeFile(file, '{ "version": 1, "scopes": {}, "routes": { "GET /x": "nope" } }')
      expect(await api.reloadPolicy()).toMatchObject({ status: 'rejected' })
      await writeFile(file, 'version: [')
      expect(await api.reloadPolicy()).toMatchObject({ status: 'rejected' })

      expect(events.map((event) => event.type === 'policy' && event.action)).toEqual([
        'loaded',
        'changed',
        'rejected',
        'rejected',
      ])
      expect(events[1]).toMatchObject({ stageMoved: true })
      for (const event of events) {
        expect(verdict(event), JSON.stringify(event)).toBe('valid')
        expect(verdict(asJson(event)), JSON.stringify(event)).toBe('valid')
      }
    } finally {
      await api.close()
    }
  })
})

describe('store events, and lifecycle events from another instance, match the schema', () => {
  it('unavailable, available, resynced; a remote revocation', async () => {
    // A shared store reports its backend's health and changes made by other instances. This
    // one keeps its state in memory and lets the test play the backend.
    const local = memoryStore()
    let reportStatus: (status: StoreStatus) => void = () => undefined
    let deliver: (change: StoreChange, origin: 'local' | 'remote') => void = () => undefined
    const store: Store = {
      snapshot: () => local.snapshot(),
      apply: (change) => local.apply(change),
      subscribe: (listener) => {
        deliver = listener
        return local.subscribe(listener)
      },
      onStatus: (listener) => {
        reportStatus = listener
        return () => undefined
      },
      close: () => local.close(),
    }
    const events: ScopeguardEvent[] = []
    const api = await startExpressApi({
      issuer,
      audience,
      keys,
      store,
      onEvent: (event) => void events.push(event),
    })
    try {
      reportStatus({ state: 'unavailable', error: 'connect ECONNREFUSED', failClosed: false })
      reportStatus({ state: 'available' })
      reportStatus({ state: 'resynced' })
      deliver(
        {
          op: 'revoke',
          revocation: {
            kind: 'clientId',
            value: 'reader',
            reason: 'revoked on another instance',
            until: Date.now() + 60_000,
            at: Date.now(),
          },
        },
        'remote',
      )
      expect(
        events.map((event) =>
          event.type === 'store' ? event.state : event.type === 'lifecycle' ? event.origin : '',
        ),
      ).toEqual(['unavailable', 'available', 'resynced', 'remote'])
      for (const event of events) {
        expect(verdict(event), JSON.stringify(event)).toBe('valid')
        expect(verdict(asJson(event)), JSON.stringify(event)).toBe('valid')
      }
    } finally {
      await api.close()
    }
  })
})
