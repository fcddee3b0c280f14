/** The `fetch` function scopeguard uses for its own requests; injectable through options. */
export type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>

/**
 * GETs a JSON document with a deadline. Throws on network errors, timeouts, non-200
 * answers and bodies that are not a JSON object.
 */
export async function fetchJson(
  fetchImpl: FetchLike,
  url: URL | string,
  timeoutMs: number,
): Promise<Record<string, unknown>> {
  const response = await fetchImpl(url, {
    headers: { accept: 'application/json' },
    redirect: 'manual',
    signal: AbortSignal.timeout(timeoutMs),
  })
  if (response.status !== 200) {
    await response.body?.cancel()
    throw new Error(`GET ${String(url)} answered HTTP ${response.status}`)
  }
  const body: unknown = await response.json()
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new Error(`GET ${String(url)} did not return a JSON object`)
  }
  return body as Record<string, unknown>
}
