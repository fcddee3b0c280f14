import type { ScopeguardEvent } from '../../events.js'
import type { Sink } from '../sink.js'

/** A sink that keeps events in an array: for tests and for inspecting a running guard. */
export interface MemorySink extends Sink {
  readonly events: ScopeguardEvent[]
}

/**
 * Creates a sink that keeps the last `max` events in memory.
 *
 * @example
 * const sink = memorySink()
 * const guard = scopeguard({ issuer, audience, sinks: [sink] })
 * await guard.flush(); sink.events.filter((e) => e.type === 'violation')
 */
export function memorySink(max = 10_000): MemorySink {
  const events: ScopeguardEvent[] = []
  return {
    name: 'memory',
    events,
    write(batch) {
      events.push(...batch)
      if (events.length > max) events.splice(0, events.length - max)
    },
  }
}
