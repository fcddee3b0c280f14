import { once } from 'node:events'
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  fileSink,
  memorySink,
  webhookSink,
  type ScopeguardEvent,
  type ScopeguardOptions,
} from '@scopeguard/core'
import { ADAPTERS, startExpressApi } from '../support/apps.js'
import { bearer, send } from '../support/http.js'

const issuer = 'https://auth.example.com'
const audience = 'https://items-api.scopeguard.test'
let keys: ScopeguardOptions['keys']
let sign: (clientId: string, scope: string) => Promise<string>

beforeAll(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true })
  keys = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1' }] }
  sign = (clientId, scope) =>
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
})

/** Sends `total` requests with `concurrency` in flight; returns every status. */
async function load(
  url: string,
  token: string,
  total: number,
  concurrency: number,
): Promise<number[]> {
  const statuses: number[] = []
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++
        statuses.push((await send(url, { headers: [bearer(token)] })).status)
      }
    }),
  )
  return statuses
}

describe('a failing webhook sink never slows or breaks a request', () => {
  const unhandled: unknown[] = []
  const track = (reason: unknown): void => void unhandled.push(reason)
  beforeAll(() => void process.on('unhandledRejection', track))
  afterAll(() => void process.off('unhandledRejection', track))

  it('serves 5,000 requests while the webhook is down, then hangs, then answers slowly', async () => {
    // The webhook's port is reserved, then closed: the first phase is "connection refused".
    const target: Server = createServer()
    target.listen(0, '127.0.0.1')
    await once(target, 'listening')
    const port = (target.address() as AddressInfo).port
    await new Promise<void>((resolve) => target.close(() => resolve()))
    let mode: 'hang' | 'slow' = 'hang'
    let received = 0
    const hanging: ServerResponse[] = []
    target.on('request', (req, res) => {
      if (mode === 'hang') return void hanging.push(res) // never answers
      const chunks: Buffer[] = []
      req.on('data', (chunk: Buffer) => chunks.push(chunk))
      req.on('end', () => {
        setTimeout(() => {
          received += (JSON.parse(Buffer.concat(chunks).toString()) as unknown[]).length
          res.writeHead(204).end()
        }, 50)
      })
    })

    const errors: string[] = []
    const api = await startExpressApi({
      issuer,
      audience,
      keys,
      sinks: [
        webhookSink({
          url: `http://127.0.0.1:${port}/ingest`,
          timeout: 150,
          retries: 1,
          backoff: 20,
        }),
      ],
      audit: {
        bufferSize: 500,
        batchSize: 100,
        flushInterval: 20,
        sinkTimeout: 1000,
        onError: (e, sink) => void errors.push(`${sink}: ${String(e)}`),
      },
    })
    const token = await sign('reader', 'read:items')
    const url = `${api.url}/items`
    try {
      const down = await load(url, token, 1500, 50)
      target.listen(port, '127.0.0.1')
      await once(target, 'listening')
      const hung = await load(url, token, 1500, 50)
      mode = 'slow'
      const slow = await load(url, token, 2000, 50)
      await api.close()

      for (const phase of [down, hung, slow]) expect(new Set(phase)).toEqual(new Set([200]))
      const stats = api.auditStats()
      expect(stats).toBeDefined()
      const { enqueued, delivered, dropped, buffered, sinkErrors } = stats as NonNullable<
        typeof stats
      >
      expect(enqueued).toBe(5000) // one decision event per request (requireScopes)
      expect(delivered + dropped + buffered).toBe(enqueued)
      expect(sinkErrors).toBeGreaterThan(0)
      expect(errors.length).toBe(sinkErrors)
      expect(errors.some((e) => /ECONNREFUSED|fetch failed/.test(e))).toBe(true)
      expect(errors.some((e) => /abort|timeout/i.test(e))).toBe(true)
      expect(received).toBeGreaterThan(0) // once the target answers, events arrive
      expect(unhandled).toEqual([])
    } finally {
      for (const res of hanging) res.destroy()
      target.closeAllConnections()
      target.close()
      await api.close(100)
    }
  })
})

describe('batches under steady load', () => {
  it('gives a sink full batches while requests keep coming, and the rest on its timer or flush()', async () => {
    // A sink whose writes take a few milliseconds, as a file or a network write does: events
    // keep arriving while each batch is written. Those must wait for a full batch (or for the
    // timer), not go out a handful at a time after every write.
    const batchSize = 50
    const flushInterval = 300
    const batches: number[] = []
    const api = await startExpressApi({
      issuer,
      audience,
      keys,
      sinks: [
        {
          name: 'slow',
          write: async (events) => {
            batches.push(events.length)
            await new Promise((resolve) => setTimeout(resolve, 5))
          },
        },
      ],
      audit: { batchSize, flushInterval },
    })
    try {
      const token = await sign('reader', 'read:items')
      const started = Date.now()
      const statuses = await load(`${api.url}/items`, token, 1003, 20)
      await api.flush()
      const elapsed = Date.now() - started
      expect(new Set(statuses)).toEqual(new Set([200]))
      expect(batches.reduce((sum, n) => sum + n, 0)).toBe(1003)
      expect(Math.max(...batches)).toBe(batchSize)
      // A partial batch only when the timer fires (at most once per flushInterval) and for
      // the final flush(): the three events beyond the last full batch are one of them.
      const partial = batches.filter((n) => n < batchSize).length
      expect(partial).toBeGreaterThanOrEqual(1)
      expect(partial).toBeLessThanOrEqual(Math.floor(elapsed / flushInterval) + 1)
      expect(api.auditStats()).toMatchObject({ enqueued: 1003, delivered: 1003, dropped: 0 })

      // Fewer events than a batch are written by the timer, without flush().
      batches.length = 0
      for (let i = 0; i < 7; i++) await send(`${api.url}/items`, { headers: [bearer(token)] })
      await expect.poll(() => batches.reduce((sum, n) => sum + n, 0), { timeout: 5000 }).toBe(7)
    } finally {
      await api.close(1000)
    }
  })
})

describe('usage inventory and first-use alerts', () => {
  it('shows which granted scopes each client never used, and the file sink writes the same events', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'scopeguard-audit-'))
    try {
      const file = join(dir, 'audit.jsonl')
      const api = await startExpressApi({
        issuer,
        audience,
        keys,
        sinks: [fileSink({ path: file })],
      })
      const reader = await sign('reader', 'read:items')
      const writer = await sign('writer', 'read:items write:items')
      const admin = await sign('admin', 'read:items write:items delete:items admin')
      await send(`${api.url}/items`, { headers: [bearer(reader)] })
      await send(`${api.url}/items`, { headers: [bearer(writer)] })
      await send(`${api.url}/items/1`, { method: 'DELETE', headers: [bearer(admin)] })
      await send(`${api.url}/items`, { method: 'POST', headers: [bearer(reader)] }) // denied: uses nothing
      const report = api.inventory()
      const unused = Object.fromEntries((report?.clients ?? []).map((c) => [c.clientId, c.unused]))
      expect(unused).toEqual({
        reader: [],
        writer: ['write:items'],
        admin: ['admin', 'read:items', 'write:items'],
      })
      expect(report?.clients.find((c) => c.clientId === 'admin')?.used).toMatchObject({
        'delete:items': { count: 1 },
      })
      await api.close()
      const lines = (await readFile(file, 'utf8'))
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>)
      expect(lines.map((l) => [l['type'], l['clientId'], l['allowed']])).toEqual([
        ['decision', 'reader', true],
        ['decision', 'writer', true],
        ['decision', 'admin', true],
        ['decision', 'reader', false],
        ['violation', 'reader', undefined],
      ])
      expect(lines[0]).toMatchObject({ level: 30, msg: 'scopeguard decision', v: 1 })
      expect(lines[3]).toMatchObject({ level: 40 })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it.each(ADAPTERS)(
    '%s: emits first_use after the learning period, not during it',
    async (_name, startApi) => {
      const sink = memorySink()
      const api = await startApi({
        issuer,
        audience,
        keys,
        sinks: [sink],
        audit: { learningPeriod: 0.4, flushInterval: 10 },
      })
      try {
        const token = await sign('writer', 'read:items write:items')
        await send(`${api.url}/items`, { headers: [bearer(token)] }) // learns read:items
        await new Promise((resolve) => setTimeout(resolve, 500))
        await send(`${api.url}/items`, { headers: [bearer(token)] }) // not new: no event
        await send(`${api.url}/items`, { method: 'POST', headers: [bearer(token)] }) // write:items is new
        await api.flush()
        const firstUses = sink.events.filter((e: ScopeguardEvent) => e.type === 'first_use')
        expect(firstUses).toMatchObject([
          { type: 'first_use', clientId: 'writer', scope: 'write:items' },
        ])
      } finally {
        await api.close()
      }
    },
  )
})
