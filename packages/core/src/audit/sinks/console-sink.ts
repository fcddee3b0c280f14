import type { Writable } from 'node:stream'
import type { ScopeguardEvent } from '../../events.js'
import type { Sink } from '../sink.js'

/**
 * Formats an event as one JSON line with the fields log shippers and pino users expect:
 * `level` (pino numbers: 30 info for allowed decisions and policy loads, 40 warn for denials,
 * violations, first use and rejected policies), `time` (the event's time, in epoch ms), `msg`,
 * then the event's other fields.
 */
export function toLogLine(event: ScopeguardEvent): string {
  const warn =
    event.type === 'violation' ||
    event.type === 'first_use' ||
    (event.type === 'decision' && !event.allowed) ||
    (event.type === 'policy' && event.action === 'rejected')
  const line: Record<string, unknown> = {
    level: warn ? 40 : 30,
    time: Date.parse(event.time),
    msg: `scopeguard ${event.type}`,
  }
  // A plain copy loop: cheaper than rest and spread on the path of every recorded decision.
  for (const key in event) {
    if (key !== 'time') line[key] = (event as unknown as Record<string, unknown>)[key]
  }
  return `${JSON.stringify(line)}\n`
}

/**
 * A sink that writes JSON lines to stdout (or another stream), for log shippers.
 *
 * @example
 * scopeguard({ issuer, audience, sinks: [consoleSink()] })
 */
export function consoleSink(options: { stream?: Writable } = {}): Sink {
  const stream = options.stream ?? process.stdout
  return {
    name: 'console',
    write(events) {
      stream.write(events.map(toLogLine).join(''))
    },
  }
}
