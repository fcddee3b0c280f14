import { mkdtemp, readFile, readdir, rename, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { AuthInfo, Decision } from '../src/index.js'
import { fileSink, toLogLine } from '../src/index.js'
import { recordDecision } from '../src/record-decision.js'

const dirs: string[] = []
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

const record = (path: string) =>
  recordDecision(
    {
      allowed: true,
      status: 200,
      reason: 'allowed',
      auth: {
        clientId: 'reports-client',
        subject: 'ü-user',
        token: { id: 'jti-1' },
        scopes: new Set(['read:items']),
        claims: {},
      } as unknown as AuthInfo,
    } as unknown as Decision,
    { method: 'GET', path, route: '/items/:id', required: 'read:items' },
    'v',
  )

describe('fileSink', () => {
  it('appends the lines of each batch and rotates by bytes, not characters', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'scopeguard-file-sink-'))
    dirs.push(dir)
    const path = join(dir, 'audit.jsonl')
    // Non-ASCII paths: each line holds more bytes than characters.
    const batches = Array.from({ length: 6 }, (_, i) =>
      Array.from({ length: 3 }, (_, j) => record(`/items/${i}-${j}/${'😀'.repeat(100)}`)),
    )
    const lineBytes = Buffer.byteLength(batches.flat().map(toLogLine).join('')) / 18
    const maxBytes = Math.ceil(lineBytes * 7) // two batches of three lines fit, not three
    const sink = fileSink({ path, maxBytes, maxFiles: 2 })
    for (const batch of batches) await sink.write(batch)
    await sink.close?.()

    expect((await readdir(dir)).sort()).toEqual(['audit.jsonl', 'audit.jsonl.1', 'audit.jsonl.2'])
    const text = (batch: typeof batches) => batch.flat().map(toLogLine).join('')
    expect(await readFile(`${path}.2`, 'utf8')).toBe(text(batches.slice(0, 2)))
    expect(await readFile(`${path}.1`, 'utf8')).toBe(text(batches.slice(2, 4)))
    expect(await readFile(path, 'utf8')).toBe(text(batches.slice(4)))
  })

  it('writes batches of any size, given at once, each whole and in order', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'scopeguard-file-sink-'))
    dirs.push(dir)
    const path = join(dir, 'audit.jsonl')
    const sink = fileSink({ path })
    // Small, then far larger than the first (its buffer grows), then small again; not awaited
    // one by one, so that each is queued while the one before is being written.
    const sizes = [1, 300, 2, 120, 1]
    const batches = sizes.map((count, i) =>
      Array.from({ length: count }, (_, j) => record(`/b/${i}/${j}/${'é😀'.repeat(j % 50)}`)),
    )
    await Promise.all(batches.map((batch) => sink.write(batch)))
    await sink.close?.()
    const expected = Buffer.from(batches.flat().map(toLogLine).join(''))
    expect((await readFile(path)).equals(expected)).toBe(true)
  })

  it('goes on in a new file at its path when another program moves or removes the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'scopeguard-file-sink-'))
    dirs.push(dir)
    const path = join(dir, 'audit.jsonl')
    const sink = fileSink({ path })
    const first = record('/first')
    const second = record('/second')
    const third = record('/third')
    const pause = () => new Promise((resolve) => setTimeout(resolve, 1100))

    await sink.write([first])
    // logrotate's default: the file is renamed, and the writer is expected to start a new one.
    await rename(path, `${path}.moved`)
    await pause() // the sink checks the file at its path at most once a second
    await sink.write([second])
    await rm(path)
    await pause()
    await sink.write([third])
    await sink.close?.()

    // The second line went to the file that was then removed.
    expect(await readFile(`${path}.moved`, 'utf8')).toBe(toLogLine(first))
    expect(await readFile(path, 'utf8')).toBe(toLogLine(third))
    expect((await readdir(dir)).sort()).toEqual(['audit.jsonl', 'audit.jsonl.moved'])
  })
})
