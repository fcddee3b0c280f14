import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises'
import { toLogLine } from '../log-line.js'
import type { Sink } from '../sink.js'

/** The largest batch, in bytes, whose buffer a file sink keeps for the next batches. */
const MAX_SCRATCH = 4 * 1024 * 1024
/** How often, at most, an open file is checked to still be the one at the sink's path. */
const RECHECK_MS = 1000

/**
 * A sink that appends JSON lines to a file, rotating by size: when the file would pass
 * `maxBytes`, it becomes `<path>.1` (older ones shift to `.2`, … and the oldest beyond
 * `maxFiles` is removed). The lines are those of `consoleSink`, and what
 * `scopeguard inventory` reads.
 *
 * The file stays open between batches (opening and closing it for each one cost about as much
 * CPU as writing 500 lines). When another program moves or removes it (logrotate, an operator), the
 * sink sees within a second that the file at `path` is no longer the one it holds, and goes on
 * in a new file there.
 *
 * @example
 * scopeguard({ issuer, audience, sinks: [fileSink({ path: '/var/log/api/audit.jsonl' })] })
 */
export function fileSink(options: { path: string; maxBytes?: number; maxFiles?: number }): Sink {
  const { path } = options
  const maxBytes = options.maxBytes ?? 10 * 1024 * 1024
  const maxFiles = options.maxFiles ?? 5
  let size = 0
  let queue: Promise<void> = Promise.resolve()
  // The bytes of the batch being written. Batches are written one at a time (the queue), so
  // one buffer serves them all: a fresh one per batch (what appendFile makes of a string)
  // costs more to fill than the encoding itself, as its memory is new every time.
  let scratch: Buffer | undefined

  /** A batch's text as UTF-8; its length is the byte count rotation needs. */
  const encode = (text: string): Buffer => {
    if (scratch !== undefined) {
      const written = scratch.write(text)
      // Less than a character's 4 bytes left over: everything was written.
      if (written <= scratch.length - 4) return scratch.subarray(0, written)
    }
    const bytes = Buffer.byteLength(text)
    if (bytes > MAX_SCRATCH) return Buffer.from(text)
    scratch = Buffer.allocUnsafe(Math.min(MAX_SCRATCH, Math.max(64 * 1024, 2 * bytes)))
    return scratch.subarray(0, scratch.write(text))
  }

  let handle: FileHandle | undefined
  let checkedAt = 0

  /** The open file at `path`: opened on first use, and again when the file there changed. */
  const file = async (): Promise<FileHandle> => {
    if (handle !== undefined) {
      const now = Date.now()
      if (now - checkedAt < RECHECK_MS) return handle
      checkedAt = now
      const [held, there] = await Promise.all([handle.stat(), stat(path).catch(() => undefined)])
      if (there !== undefined && there.ino === held.ino && there.dev === held.dev) return handle
      await release()
    }
    handle = await open(path, 'a')
    checkedAt = Date.now()
    size = (await handle.stat()).size
    return handle
  }

  const release = async (): Promise<void> => {
    const held = handle
    handle = undefined
    await held?.close().catch(() => undefined)
  }

  const rotate = async (): Promise<void> => {
    await release()
    await rm(`${path}.${maxFiles}`, { force: true })
    for (let i = maxFiles - 1; i >= 1; i--) {
      await rename(`${path}.${i}`, `${path}.${i + 1}`).catch(() => undefined)
    }
    await rename(path, `${path}.1`).catch(() => undefined)
  }

  const append = async (lines: Buffer): Promise<void> => {
    let target = await file()
    if (size > 0 && size + lines.length > maxBytes) {
      await rotate()
      target = await file()
    }
    try {
      await target.appendFile(lines)
    } catch (error) {
      // The next batch starts from a newly opened file.
      await release()
      throw error
    }
    size += lines.length
  }

  return {
    name: 'file',
    write(events) {
      // Writes are chained so that lines never interleave and rotation never races.
      const next = queue.then(() => append(encode(events.map(toLogLine).join(''))))
      queue = next.catch(() => undefined)
      return next
    },
    close: async () => {
      await queue
      await release()
    },
  }
}
