import type { Sink } from '../sink.js'
import type { FetchLike } from '../../verify/fetch-json.js'

/** Options of the webhook sink. */
export interface WebhookSinkOptions {
  readonly url: string
  readonly headers?: Readonly<Record<string, string>>
  /** Milliseconds per attempt. Default 3,000. */
  readonly timeout?: number
  /** Attempts after the first, on network errors, 429 and 5xx. Default 2. */
  readonly retries?: number
  /** Milliseconds before the first retry, doubled each time. Default 200. */
  readonly backoff?: number
  readonly fetch?: FetchLike
}

/**
 * A sink that POSTs each batch as a JSON array to a URL, with a timeout per attempt and a
 * bounded number of retries with exponential backoff. A batch that still fails is reported
 * to the dispatcher (counted, `onError`), never retried forever.
 *
 * @example
 * scopeguard({ issuer, audience, sinks: [webhookSink({ url: 'https://siem.example.com/ingest' })] })
 */
export function webhookSink(options: WebhookSinkOptions): Sink {
  const timeout = options.timeout ?? 3000
  const retries = options.retries ?? 2
  const backoff = options.backoff ?? 200
  const send = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
  return {
    name: 'webhook',
    async write(events) {
      const body = JSON.stringify(events)
      let lastError: unknown
      for (let attempt = 0; attempt <= retries; attempt++) {
        if (attempt > 0)
          await new Promise((resolve) => setTimeout(resolve, backoff * 2 ** (attempt - 1)).unref())
        try {
          const response = await send(options.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...options.headers },
            body,
            signal: AbortSignal.timeout(timeout),
          })
          await response.body?.cancel()
          if (response.ok) return
          lastError = new Error(`webhook answered HTTP ${response.status}`)
          if (response.status !== 429 && response.status < 500) break // the batch itself is refused
        } catch (error) {
          lastError = error
        }
      }
      throw lastError
    },
  }
}
