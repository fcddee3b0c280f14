/**
 * Assertions shared by the security suites: a denial is exactly one of scopeguard's fixed
 * answers (status, challenge), with an empty body, and nothing of the request reflected.
 */
import { expect } from 'vitest'
import { CHALLENGES } from './signing.js'

interface ResponseLike {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** The challenge a response must carry for its status: one of the fixed strings, or none. */
export function expectDenial(
  response: ResponseLike,
  status: 400 | 401 | 403 | 503,
  challenge: string | null,
): void {
  expect({
    status: response.status,
    challenge: response.headers['www-authenticate'] ?? null,
    body: response.body,
  }).toEqual({ status, challenge, body: '' })
  if (status === 503) expect(response.headers['retry-after']).toBe('5')
}

/** 401 `invalid_token`: the answer to every bad token, whatever the reason. */
export function expectInvalidToken(response: ResponseLike): void {
  expectDenial(response, 401, CHALLENGES.invalidToken)
}

/** 503 with `Retry-After: 5` and no challenge: the verifier is unavailable. */
export function expectUnavailable(response: ResponseLike): void {
  expectDenial(response, 503, null)
}

/** No stack trace, file path or error class name anywhere in a response body. */
export function expectNoLeak(body: string): void {
  expect(body).not.toMatch(/\bat [\w$.<>]+ \(|node:internal|\.js:\d+|\.ts:\d+|Error:|TypeError/)
}
