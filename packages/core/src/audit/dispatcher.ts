import createDebug from 'debug'
import type { ScopeguardEvent } from '../events.js'
import type { Sink } from './sink.js'

const debug = createDebug('scopeguard:audit')

/** Options of the event dispatcher (`audit` in the guard options). */
export interface DispatcherOptions {
  /** Most events held while sinks catch up; beyond it the oldest are dropped and counted. Default 10,000. */
  readonly bufferSize?: number
  /** Most events per `write` call. Default 500. */
  readonly batchSize?: number
  /** Milliseconds between flushes when the buffer is not full enough for a batch. Default 1,000. */
  readonly flushInterval?: number
  /** Milliseconds a sink's `write` may take before it counts as failed. Default 5,000. */
  readonly sinkTimeout?: number
  /** Called with every sink failure (also counted). Errors it throws are ignored. */
  readonly onError?: (error: unknown, sink: string) => void
}

/** Counters of the dispatcher, for metrics and tests. */
export interface DispatcherStats {
  readonly enqueued: number
  readonly delivered: number
  readonly dropped: number
  readonly sinkErrors: number
  readonly buffered: number
}

/** The dispatcher's interface to the guard. */
export interface Dispatcher {
  /** Queues an event; O(1), never blocks, never throws. */
  enqueue(event: ScopeguardEvent): void
  /** Writes everything buffered now (waiting for sinks up to their timeout). */
  flush(): Promise<void>
  /** Flushes with a deadline, then closes the sinks. */
  close(deadlineMs?: number): Promise<void>
  stats(): DispatcherStats
}

/**
 * Creates the dispatcher that takes events off the request path: `enqueue` only appends to a
 * bounded ring buffer; batches are written to every sink from a timer or an immediate
 * callback. Sinks are isolated from each other and from requests: each write is bounded by
 * `sinkTimeout`, failures are counted and reported to `onError`, and a full buffer drops its
 * oldest events (counted) instead of growing.
 *
 * @example
 * const dispatcher = createDispatcher([consoleSink()], { onError: (e) => log.warn(e) })
 * dispatcher.enqueue(event)
 */
export function createDispatcher(
  sinks: readonly Sink[],
  options: DispatcherOptions = {},
): Dispatcher {
  const capacity = options.bufferSize ?? 10_000
  const batchSize = options.batchSize ?? 500
  const interval = options.flushInterval ?? 1000
  const sinkTimeout = options.sinkTimeout ?? 5000
  const ring: (ScopeguardEvent | undefined)[] = new Array<ScopeguardEvent | undefined>(capacity)
  let head = 0 // index of the oldest event
  let size = 0
  const counters = { enqueued: 0, delivered: 0, dropped: 0, sinkErrors: 0 }
  let flushing: Promise<void> | undefined
  let timer: NodeJS.Timeout | undefined
  let immediate: NodeJS.Immediate | undefined
  let closed = false

  const take = (count: number): ScopeguardEvent[] => {
    const batch: ScopeguardEvent[] = []
    while (batch.length < count && size > 0) {
      batch.push(ring[head] as ScopeguardEvent)
      ring[head] = undefined
      head = (head + 1) % capacity
      size--
    }
    return batch
  }

  const report = (error: unknown, sink: string): void => {
    counters.sinkErrors++
    debug('sink %s failed: %O', sink, error)
    try {
      options.onError?.(error, sink)
    } catch {
      // an error reporter that throws must not break the dispatcher
    }
  }

  const writeTo = async (sink: Sink, batch: readonly ScopeguardEvent[]): Promise<void> => {
    let timeout: NodeJS.Timeout | undefined
    try {
      await Promise.race([
        Promise.resolve().then(() => sink.write(batch)),
        new Promise((_, reject) => {
          timeout = setTimeout(
            () => reject(new Error(`sink ${sink.name} did not finish within ${sinkTimeout} ms`)),
            sinkTimeout,
          )
          timeout.unref()
        }),
      ])
    } catch (error) {
      report(error, sink.name)
    } finally {
      clearTimeout(timeout)
    }
  }

  // Events that have left the ring (written or dropped): `enqueued` counts every event ever
  // queued, and `size` those still waiting.
  const gone = (): number => counters.enqueued - size
  // The events queued up to this count are written by the running drain even in a partial
  // batch (a timer, `flush()`); beyond it, only full batches are written at once.
  let goal = 0

  // Writes full batches, and the partial one `goal` asks for. Events that arrive while a
  // batch is being written wait for a full batch or for their timer: under steady load a
  // drain that also took the few events queued during each write would call the sinks for a
  // handful of events at a time, once per file open, request or connection.
  const drain = async (): Promise<void> => {
    while (size >= batchSize || gone() < goal) {
      const batch = take(batchSize)
      await Promise.all(sinks.map((sink) => writeTo(sink, batch)))
      counters.delivered += batch.length
    }
  }

  /** Starts a drain unless one runs; `all`: also the partial batch of what is queued now. */
  const drainNow = (all: boolean): Promise<void> => {
    if (all) goal = counters.enqueued
    flushing ??= drain().finally(() => {
      flushing = undefined
      // A request that came in after the running drain's last check.
      if (!closed && (size >= batchSize || gone() < goal)) void drainNow(false)
    })
    return flushing
  }

  /** Writes every event queued now, and waits for the batch that holds the last of them. */
  const flush = async (): Promise<void> => {
    const target = counters.enqueued
    while (gone() < target) await drainNow(true)
    await flushing
  }

  const schedule = (): void => {
    if (closed) return
    if (size >= batchSize) {
      immediate ??= setImmediate(() => {
        immediate = undefined
        void drainNow(false)
      })
    }
    // The events that do not fill a batch are written within `interval` of the first.
    if (timer === undefined) {
      timer = setTimeout(() => {
        timer = undefined
        void drainNow(true)
      }, interval)
      timer.unref()
    }
  }

  return {
    enqueue(event) {
      counters.enqueued++
      if (size === capacity) {
        ring[head] = undefined // the oldest goes
        head = (head + 1) % capacity
        size--
        counters.dropped++
      }
      ring[(head + size) % capacity] = event
      size++
      schedule()
    },
    flush,
    async close(deadlineMs = 5000) {
      closed = true
      clearTimeout(timer)
      if (immediate !== undefined) clearImmediate(immediate)
      let deadline: NodeJS.Timeout | undefined
      await Promise.race([
        (async () => {
          await flush()
          await flush() // events enqueued during the first flush
        })(),
        new Promise((resolve) => {
          deadline = setTimeout(resolve, deadlineMs)
          deadline.unref()
        }),
      ])
      clearTimeout(deadline)
      counters.dropped += size // what the deadline left behind
      take(size)
      await Promise.all(
        sinks.map((sink) =>
          Promise.resolve()
            .then(() => sink.close?.())
            .catch((error: unknown) => report(error, sink.name)),
        ),
      )
    },
    stats: () => ({ ...counters, buffered: size }),
  }
}
