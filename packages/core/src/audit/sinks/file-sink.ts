import { appendFile, rename, rm, stat } from 'node:fs/promises'
import { toLogLine } from '../log-line.js'
import type { Sink } from '../sink.js'

/**
 * A sink that appends JSON lines to a file, rotating by size: when the file would pass
 * `maxBytes`, it becomes `<path>.1` (older ones shift to `.2`, … and the oldest beyond
 * `maxFiles` is removed). The lines are those of `consoleSink`, and what
 * `scopeguard inventory` reads.
 *
 * @example
 * scopeguard({ issuer, audience, sinks: [fileSink({ path: '/var/log/api/audit.jsonl' })] })
 */
export function fileSink(options: { path: string; maxBytes?: number; maxFiles?: number }): Sink {
  const { path } = options
  const maxBytes = options.maxBytes ?? 10 * 1024 * 1024
  const maxFiles = options.maxFiles ?? 5
  let size: number | undefined
  let queue: Promise<void> = Promise.resolve()

  const rotate = async (): Promise<void> => {
    await rm(`${path}.${maxFiles}`, { force: true })
    for (let i = maxFiles - 1; i >= 1; i--) {
      await rename(`${path}.${i}`, `${path}.${i + 1}`).catch(() => undefined)
    }
    await rename(path, `${path}.1`).catch(() => undefined)
    size = 0
  }

  const append = async (lines: Buffer): Promise<void> => {
    size ??= await stat(path).then(
      (s) => s.size,
      () => 0,
    )
    const bytes = lines.length
    if (size > 0 && size + bytes > maxBytes) await rotate()
    await appendFile(path, lines)
    size += bytes
  }

  return {
    name: 'file',
    write(events) {
      // Writes are chained so that lines never interleave and rotation never races.
      // One UTF-8 buffer per batch: appendFile would encode the text anyway, and its length is
      // the byte count rotation needs (no second pass over the text to measure it).
      const next = queue.then(() => append(Buffer.from(events.map(toLogLine).join(''))))
      queue = next.catch(() => undefined)
      return next
    },
    close: () => queue,
  }
}
