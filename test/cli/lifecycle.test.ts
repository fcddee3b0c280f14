// `scopeguard revoke`, `unrevoke`, `kill-switch`, `elevate`, `elevations` and `drill` against a
// real redis-server shared with a running API instance.
import { writeFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PolicyDocument } from '@scopeguard/core'
import { redisStore } from '@scopeguard/redis'
import { startExpressApi, type TestApi } from '../support/apps.js'
import { bearer, send } from '../support/http.js'
import { startRedis, type RedisServer } from '../support/redis-server.js'
import { lines, scopeguard } from './run-cli.js'

const issuer = 'https://auth.example.com'
const audience = 'https://items-api.scopeguard.test'
const prefix = 'cli:'
const policy: PolicyDocument = {
  version: 1,
  scopes: {
    'read:items': {},
    'write:items': { implies: ['read:items'], elevatable: true },
    'delete:items': {},
  },
  routes: {
    'GET /health': { public: true },
    'GET /items': 'read:items',
    'POST /items': 'write:items',
    'DELETE /items/:id': 'delete:items',
    'GET /whoami': 'read:items',
  },
}
let redis: RedisServer
let api: TestApi
let dir: string
let policyFile: string
let reader: string
let writer: string

beforeAll(async () => {
  redis = await startRedis()
  dir = await mkdtemp(join(tmpdir(), 'scopeguard-cli-lifecycle-'))
  policyFile = join(dir, 'policy.json')
  await writeFile(policyFile, JSON.stringify(policy))
  const pair = await generateKeyPair('ES256', { extractable: true })
  const sign = (clientId: string): Promise<string> => {
    const now = Math.floor(Date.now() / 1000)
    return new SignJWT({
      iss: issuer,
      aud: audience,
      iat: now,
      exp: now + 600,
      client_id: clientId,
      sub: `user-${clientId}`,
      scope: 'read:items',
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' })
      .sign(pair.privateKey)
  }
  reader = await sign('reader')
  writer = await sign('writer')
  let synced = false
  api = await startExpressApi({
    issuer,
    audience,
    keys: { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1' }] },
    policy,
    store: redisStore({ url: redis.url, prefix, name: 'items-api-1' }),
    onEvent: (event) => {
      if (event.type === 'store' && event.state === 'resynced') synced = true
    },
  })
  const deadline = Date.now() + 5000
  while (!synced && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
}, 20_000)
afterAll(async () => {
  await api?.close()
  await redis?.stop()
  await rm(dir, { recursive: true, force: true })
})

/** Polls until the API answers `status` to `token`; fails after `limit` ms. */
async function until(
  token: string,
  status: number,
  options: { method?: string; limit?: number } = {},
): Promise<void> {
  const started = Date.now()
  let last = 0
  while (Date.now() - started < (options.limit ?? 1000)) {
    last = (
      await send(`${api.url}/items`, { method: options.method ?? 'GET', headers: [bearer(token)] })
    ).status
    if (last === status) return
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`still ${last}, expected ${status}`)
}

const store = (): string[] => ['--redis', redis.url, '--prefix', prefix]

describe('scopeguard lifecycle commands on a shared Redis', () => {
  it('revokes a client within a second, and unrevokes it', async () => {
    await until(reader, 200)
    const revoked = await scopeguard([
      'revoke',
      ...store(),
      '--client',
      'reader',
      '--reason',
      'INC-42: key leaked',
      '--ttl',
      '600',
    ])
    expect(revoked.stderr).toBe('')
    expect(revoked.code).toBe(0)
    expect(revoked.stdout).toMatch(
      /^revoked clientId reader until \S+ \(reason: INC-42: key leaked\)/,
    )
    await until(reader, 401)
    await until(writer, 200)

    const unrevoked = await scopeguard(['unrevoke', ...store(), '--client', 'reader', '--json'])
    expect(unrevoked.code).toBe(0)
    expect(JSON.parse(unrevoked.stdout)).toMatchObject({
      action: 'unrevoked',
      kind: 'clientId',
      value: 'reader',
      wasRevoked: true,
    })
    await until(reader, 200)
  })

  it('refuses a revocation without a reason or a target: exit 2, one line', async () => {
    const noReason = await scopeguard(['revoke', ...store(), '--client', 'reader'])
    expect(noReason.code).toBe(2)
    expect(lines(noReason.stderr)).toEqual([
      'scopeguard revoke: reason is required: say why, for the audit trail',
    ])
    const two = await scopeguard([
      'revoke',
      ...store(),
      '--client',
      'a',
      '--jti',
      'b',
      '--reason',
      'x',
    ])
    expect(two.code).toBe(2)
    expect(lines(two.stderr)).toEqual([
      'scopeguard revoke: name exactly one of jti, clientId, subject (got jti and clientId)',
    ])
  })

  it('turns the kill switch on (only the excepted client passes) and off', async () => {
    const on = await scopeguard([
      'kill-switch',
      'on',
      ...store(),
      '--except',
      'writer',
      '--reason',
      'incident 42',
    ])
    expect(on.code).toBe(0)
    expect(lines(on.stdout)[0]).toMatch(
      /^kill switch on: every token refused except clients writer/,
    )
    await until(reader, 401)
    await until(writer, 200)
    const off = await scopeguard(['kill-switch', 'off', ...store()])
    expect(off.code).toBe(0)
    await until(reader, 200)
  })

  it('elevates for a TTL: the call passes, elevations lists the grant, then it is denied again', async () => {
    await until(reader, 403, { method: 'POST' })
    const elevated = await scopeguard([
      'elevate',
      ...store(),
      '--policy',
      policyFile,
      '--client',
      'reader',
      '--scopes',
      'write:items',
      '--ttl',
      '2',
      '--reason',
      'INC-77: repair items',
      '--approved-by',
      'sre-lead',
    ])
    expect(elevated.stderr).toBe('')
    expect(elevated.code).toBe(0)
    expect(elevated.stdout).toMatch(/^elevated clientId reader: write:items until /)
    await until(reader, 201, { method: 'POST' })

    const listed = await scopeguard(['elevations', ...store(), '--json'])
    expect(listed.code).toBe(0)
    expect(JSON.parse(listed.stdout)).toMatchObject({
      grants: [
        {
          clientId: 'reader',
          scopes: ['write:items'],
          reason: 'INC-77: repair items',
          approvedBy: 'sre-lead',
        },
      ],
    })
    await until(reader, 403, { method: 'POST', limit: 4000 })
    const after = await scopeguard(['elevations', ...store()])
    expect(lines(after.stdout)).toEqual([`no active elevation on ${redis.url} prefix ${prefix}`])
  })

  it('refuses an elevation the policy does not allow, or without a TTL: exit 2 with the reason', async () => {
    const base = [...store(), '--policy', policyFile, '--client', 'reader', '--reason', 'x']
    const notElevatable = await scopeguard([
      'elevate',
      ...base,
      '--approved-by',
      'sre-lead',
      '--scopes',
      'delete:items',
      '--ttl',
      '60',
    ])
    expect(notElevatable.code).toBe(2)
    expect(lines(notElevatable.stderr)).toEqual([
      'scopeguard elevate: not elevatable in the policy: delete:items (mark them "elevatable: true" in the scopes catalog)',
    ])
    const noTtl = await scopeguard([
      'elevate',
      ...base,
      '--approved-by',
      'sre-lead',
      '--scopes',
      'write:items',
    ])
    expect(noTtl.code).toBe(2)
    expect(lines(noTtl.stderr)).toEqual([
      'scopeguard elevate: ttl is required: a number of seconds after which the grant is gone by itself',
    ])
  })

  it('drills: one instance enforces the canary revocation, and the canary is restored', async () => {
    const result = await scopeguard([
      'drill',
      ...store(),
      '--client',
      'canary',
      '--discover',
      '1500',
      '--timeout',
      '2000',
    ])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const out = lines(result.stdout)
    expect(
      out.filter((line) => /^ok {5}items-api-1 \(.+\): enforced after [\d.]+ ms$/.test(line)),
    ).toHaveLength(1)
    expect(out.at(-1)).toBe('1 instance enforced the revocation')
    const empty = await scopeguard([
      'drill',
      ...store().slice(0, 2),
      '--prefix',
      'nobody:',
      '--client',
      'canary',
      '--discover',
      '300',
      '--timeout',
      '300',
    ])
    expect(empty.code).toBe(1)
    expect(lines(empty.stdout).at(-1)).toBe(
      'no live instance found within 300 ms (are they on this prefix?)',
    )
  })

  it('exits 2 quickly with one line when Redis is unreachable', async () => {
    const closed = 'redis://127.0.0.1:1'
    for (const args of [
      ['revoke', '--redis', closed, '--client', 'reader', '--reason', 'x'],
      ['elevations', '--redis', closed, '--connect-timeout', '500'],
      ['drill', '--redis', closed, '--client', 'canary', '--connect-timeout', '500'],
    ]) {
      const started = Date.now()
      const result = await scopeguard(args)
      expect(result.code).toBe(2)
      expect(lines(result.stderr)).toEqual([
        expect.stringMatching(
          /^scopeguard \S+: cannot reach Redis at redis:\/\/127\.0\.0\.1:1 within \d+ ms/,
        ),
      ])
      expect(Date.now() - started).toBeLessThan(8000)
    }
  })
})
