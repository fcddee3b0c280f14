// `scopeguard inventory`: per-client scopes granted, used and unused, from real fileSink logs.
import { appendFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fileSink } from '@scopeguard/core'
import { startExpressApi } from '../support/apps.js'
import { bearer, send } from '../support/http.js'
import { lines, scopeguard } from './run-cli.js'

const issuer = 'https://auth.example.com'
const audience = 'https://items-api.scopeguard.test'
let dir: string
let file: string

// A real guard writes the log with fileSink; one corrupted line is appended after it.
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scopeguard-cli-inventory-'))
  file = join(dir, 'audit.jsonl')
  const pair = await generateKeyPair('ES256', { extractable: true })
  const sign = (clientId: string, scope: string): Promise<string> =>
    new SignJWT({
      iss: issuer,
      aud: audience,
      exp: Math.floor(Date.now() / 1000) + 600,
      client_id: clientId,
      sub: clientId,
      scope,
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' })
      .sign(pair.privateKey)
  const api = await startExpressApi({
    issuer,
    audience,
    keys: { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1' }] },
    sinks: [fileSink({ path: file })],
  })
  const reader = await sign('reader', 'read:items write:items')
  const writer = await sign('writer', 'read:items write:items')
  const admin = await sign('admin', 'read:items admin')
  await send(`${api.url}/items`, { headers: [bearer(reader)] })
  await send(`${api.url}/items`, { headers: [bearer(reader)] })
  await send(`${api.url}/items`, { headers: [bearer(writer)] })
  await send(`${api.url}/items`, { method: 'POST', headers: [bearer(writer)] })
  await send(`${api.url}/items/1`, { method: 'DELETE', headers: [bearer(admin)] })
  await send(`${api.url}/items`, { method: 'POST', headers: [bearer(admin)] }) // denied: uses nothing
  await send(`${api.url}/items`) // no token: no client
  // 8 lines: 7 decisions and the violation of the denied one
  await api.close()
  await appendFile(file, '{"level":30,"time":17953282\n["not", "an", "event"]\n')
})
afterAll(() => rm(dir, { recursive: true, force: true }))

describe('scopeguard inventory', () => {
  it('reports granted, used and unused scopes per client, and the skipped lines', async () => {
    const result = await scopeguard(['inventory', file, '--json'])
    expect(result.code).toBe(0)
    const report = JSON.parse(result.stdout) as {
      decisions: number
      clients: {
        clientId: string
        granted: string[]
        used: string[]
        unused: string[]
        decisions: number
        allowed: number
        denied: number
        firstSeen: string
        routes: { route: string; count: number }[]
      }[]
      skipped: { line: number; reason: string }[]
    }
    const unused = Object.fromEntries(report.clients.map((c) => [c.clientId, c.unused]))
    expect(unused).toEqual({ admin: ['read:items'], reader: ['write:items'], writer: [] })
    const admin = report.clients.find((c) => c.clientId === 'admin')
    expect(admin).toMatchObject({ used: ['admin'], decisions: 2, allowed: 1, denied: 1 })
    expect(admin?.firstSeen).toMatch(/^\d{4}-\d\d-\d\dT/)
    expect(report.clients.find((c) => c.clientId === 'reader')?.routes).toEqual([
      { route: 'GET /items', count: 2 },
    ])
    expect(report.decisions).toBe(7)
    expect(report.skipped).toEqual([
      { file, line: 9, reason: 'not JSON' },
      { file, line: 10, reason: 'not a JSON object' },
    ])
    expect(lines(result.stderr)).toEqual([
      `${file}:9: not JSON, skipped`,
      `${file}:10: not a JSON object, skipped`,
    ])
  })

  it('prints a text report ending with the counts, and a markdown table', async () => {
    const text = await scopeguard(['inventory', file])
    expect(text.code).toBe(0)
    const out = lines(text.stdout)
    expect(out).toContain('  unused   write:items')
    expect(out.at(-1)).toBe(
      '3 clients, 2 with unused scopes; 7 decisions in 8 events from 1 file; 2 lines skipped',
    )
    const markdown = await scopeguard(['inventory', file, '--format', 'markdown'])
    expect(markdown.code).toBe(0)
    expect(lines(markdown.stdout)).toContainEqual(
      expect.stringMatching(
        /^\| `reader` \| 2 \| 2 \| 0 \| `read:items` `write:items` \| `read:items` \| \*\*`write:items`\*\* \|/,
      ),
    )
  })

  it('reads several files, and exits 2 on one it cannot read', async () => {
    const both = await scopeguard(['inventory', file, file, '--json'])
    expect(JSON.parse(both.stdout)).toMatchObject({ decisions: 14 })
    const missing = await scopeguard(['inventory', file, join(dir, 'missing.jsonl')])
    expect(missing.code).toBe(2)
    expect(lines(missing.stderr)).toEqual([
      `scopeguard inventory: cannot read ${join(dir, 'missing.jsonl')}: no such file`,
    ])
  })
})
