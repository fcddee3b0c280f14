import type { ScopeguardEvent } from '../events.js'

/**
 * Where events go. `write` receives a batch, off the request path; it may be sync or
 * async. A sink that throws, rejects or takes longer than the dispatcher's `sinkTimeout`
 * is counted as an error and never affects a request. `close` is called by `guard.close()`.
 *
 * @example
 * const countingSink: Sink = {
 *   name: 'counting',
 *   write(events) {
 *     for (const event of events) if (event.type === 'violation') metrics.increment(event.violation.type)
 *   },
 * }
 */
export interface Sink {
  /** A short name for error reports (`webhook`, `file`, …). */
  readonly name: string
  write(events: readonly ScopeguardEvent[]): void | Promise<void>
  close?(): void | Promise<void>
}
