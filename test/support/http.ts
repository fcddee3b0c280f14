import { request as httpRequest } from 'node:http'

/** A response as it came off the wire. */
export interface RawResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
  /** Header lines as sent (minus Date), for byte-level comparisons. */
  rawHeaders: string[]
}

/**
 * Sends one HTTP request with node:http, so that tests control the exact header list
 * (fetch would merge two Authorization headers into one).
 */
export function send(
  url: string,
  options: { method?: string; headers?: [string, string][]; body?: string } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const target = new URL(url)
    const req = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        method: options.method ?? 'GET',
        // An array keeps duplicates as sent; Node adds no Host header to one, so it is given here.
        headers: [['Host', target.host], ...(options.headers ?? [])].flat(),
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => {
          const raw: string[] = []
          for (let i = 0; i < res.rawHeaders.length; i += 2) {
            const name = res.rawHeaders[i] ?? ''
            if (name.toLowerCase() !== 'date') raw.push(`${name}: ${res.rawHeaders[i + 1] ?? ''}`)
          }
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
            rawHeaders: raw,
          })
        })
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(options.body)
  })
}

/** `Authorization: Bearer <token>` as a header pair. */
export function bearer(token: string): [string, string] {
  return ['Authorization', `Bearer ${token}`]
}
