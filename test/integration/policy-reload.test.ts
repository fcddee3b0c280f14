import { mkdtemp, mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  PolicyValidationError,
  type ScopeguardEvent,
  type ScopeguardOptions,
} from '@scopeguard/core'
import { scopeguard } from '@scopeguard/express'
import { ADAPTERS, type TestApi } from '../support/apps.js'
import { bearer, send } from '../support/http.js'

const issuer = 'https://auth.example.com'
const audience = 'https://items-api.scopeguard.test'
let keys: ScopeguardOptions['keys']
let token: string

const policyText = (getItems: string, extra = ''): string => `version: 1
scopes:
  read:items: {}
  write:items: { implies: [read:items] }
  delete:items: {}
  admin: {}
routes:
  GET /health: { public: true }
  GET /items: ${getItems}
  POST /items: write:items
  DELETE /items/:id: delete:items or admin
  GET /whoami: read:items
${extra}`

beforeAll(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true })
  keys = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1' }] }
  const now = Math.floor(Date.now() / 1000)
  token = await new SignJWT({
    iss: issuer,
    aud: audience,
    exp: now + 600,
    client_id: 'reader',
    scope: 'read:items',
  })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' })
    .sign(pair.privateKey)
})

/** Polls until the API answers `status`, for at most `limit` ms; returns how long it took. */
async function waitForStatus(url: string, status: number, limit = 3000): Promise<number> {
  const started = Date.now()
  let last = 0
  while (Date.now() - started < limit) {
    last = (await send(url, { headers: [bearer(token)] })).status
    if (last === status) return Date.now() - started
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`still ${last} after ${limit} ms, expected ${status}`)
}

describe.each(ADAPTERS)('%s adapter: policy hot reload', (_name, startApi) => {
  const cleanup: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step()
  })

  const start = async (policy: string): Promise<{ api: TestApi; events: ScopeguardEvent[] }> => {
    const events: ScopeguardEvent[] = []
    const api = await startApi({
      issuer,
      audience,
      keys,
      policy: { file: policy, pollInterval: 200 },
      onEvent: (e) => events.push(e),
    })
    cleanup.push(() => api.close())
    return { api, events }
  }
  const tempDir = async (): Promise<string> => {
    const dir = await mkdtemp(join(tmpdir(), 'scopeguard-policy-'))
    cleanup.push(() => rm(dir, { recursive: true, force: true }))
    return dir
  }

  it('applies a file replaced by an atomic rename within a second, and reports the change', async () => {
    const dir = await tempDir()
    const file = join(dir, 'scopeguard.policy.yaml')
    await writeFile(file, policyText('read:items'))
    const { api, events } = await start(file)
    expect((await send(`${api.url}/items`, { headers: [bearer(token)] })).status).toBe(200)

    await writeFile(join(dir, '.next.yaml'), policyText('write:items'))
    await rename(join(dir, '.next.yaml'), file)
    expect(await waitForStatus(`${api.url}/items`, 403)).toBeLessThan(1000)

    const changed = events.find((e) => e.type === 'policy' && e.action === 'changed')
    expect(changed).toMatchObject({
      changes: [
        {
          kind: 'narrowing',
          subject: 'route',
          name: 'GET /items',
          description: 'requirement read:items → write:items',
        },
      ],
      stageMoved: false,
    })
    const decisions = events.filter((e) => e.type === 'decision')
    expect(new Set(decisions.map((d) => d.policyVersion)).size).toBe(2)
  })

  it('keeps serving the old policy when the new file is invalid, and reports every problem', async () => {
    const dir = await tempDir()
    const file = join(dir, 'scopeguard.policy.yaml')
    await writeFile(file, policyText('read:items'))
    const { api, events } = await start(file)
    const version = events.find((e) => e.type === 'policy')?.version

    await writeFile(file, policyText('read:itemz', '  GET /broken: [\n'))
    const deadline = Date.now() + 3000
    while (
      !events.some((e) => e.type === 'policy' && e.action === 'rejected') &&
      Date.now() < deadline
    ) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    const rejected = events.find((e) => e.type === 'policy' && e.action === 'rejected')
    expect(rejected).toMatchObject({ version })
    expect(rejected && 'problems' in rejected ? rejected.problems.length : 0).toBeGreaterThan(0)
    const ok = await send(`${api.url}/items`, { headers: [bearer(token)] })
    expect(ok.status).toBe(200)
    expect(api.stats()).toBeDefined()
  })

  it('keeps serving when the file is truncated or deleted during traffic, and takes a good file back', async () => {
    const dir = await tempDir()
    const file = join(dir, 'scopeguard.policy.yaml')
    await writeFile(file, policyText('read:items'))
    const { api, events } = await start(file)
    const rejected = (): number =>
      events.filter((e) => e.type === 'policy' && e.action === 'rejected').length
    const waitRejected = async (count: number): Promise<void> => {
      const deadline = Date.now() + 3000
      while (rejected() < count && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20))
      expect(rejected()).toBeGreaterThanOrEqual(count)
    }
    const statuses: number[] = []
    const traffic = (async () => {
      for (let i = 0; i < 60; i++) {
        statuses.push((await send(`${api.url}/items`, { headers: [bearer(token)] })).status)
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    })()
    await writeFile(file, policyText('read:items').slice(0, 40)) // truncated mid-write
    await waitRejected(1)
    await rm(file)
    await waitRejected(2)
    await traffic
    expect(new Set(statuses)).toEqual(new Set([200]))
    await writeFile(file, policyText('write:items'))
    expect(await waitForStatus(`${api.url}/items`, 403)).toBeLessThan(1500)
  })

  it('follows a Kubernetes ConfigMap symlink swap', async () => {
    const dir = await tempDir()
    await mkdir(join(dir, '..v1'))
    await writeFile(join(dir, '..v1', 'policy.yaml'), policyText('read:items'))
    await symlink('..v1', join(dir, '..data'))
    await symlink(join('..data', 'policy.yaml'), join(dir, 'policy.yaml'))
    const { api } = await start(join(dir, 'policy.yaml'))
    expect((await send(`${api.url}/items`, { headers: [bearer(token)] })).status).toBe(200)

    await mkdir(join(dir, '..v2'))
    await writeFile(join(dir, '..v2', 'policy.yaml'), policyText('admin'))
    await symlink('..v2', join(dir, '..data_tmp'))
    await rename(join(dir, '..data_tmp'), join(dir, '..data'))
    expect(await waitForStatus(`${api.url}/items`, 403)).toBeLessThan(1000)
  })
})

describe('a policy that does not validate never starts the app', () => {
  it('throws at start-up with every problem, positioned', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'scopeguard-policy-'))
    try {
      const file = join(dir, 'broken.yaml')
      await writeFile(file, policyText('read:itemz', '  PUT /items: nobody:knows\n'))
      let error: unknown
      try {
        scopeguard({ issuer, audience, keys, policy: file })
      } catch (caught) {
        error = caught
      }
      expect(error).toBeInstanceOf(PolicyValidationError)
      const problems = (error as PolicyValidationError).problems.filter(
        (p) => p.severity === 'error',
      )
      expect(problems.length).toBeGreaterThanOrEqual(2)
      expect(problems.every((p) => p.file === file && p.line > 0 && p.column > 0)).toBe(true)
      expect((error as Error).message).toContain('read:itemz')
      expect((error as Error).message).toContain('nobody:knows')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
