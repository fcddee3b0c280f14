import type { Writable } from 'node:stream'
import { toLogLine } from '../log-line.js'
import type { Sink } from '../sink.js'

export { toLogLine }

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
