import type { ScopeguardRequest } from './request.js'

/** Where a bearer token may be read from (RFC 6750 §2). */
export interface TokenTransports {
  /** §2.1 `Authorization: Bearer`; always on. */
  readonly header: true
  /** §2.2 form-encoded body parameter `access_token`; off unless enabled. */
  readonly formBody: boolean
  /** §2.3 URI query parameter `access_token`; off unless enabled. */
  readonly query: boolean
  /** RFC 9449 §7.1 `Authorization: DPoP`; off unless given (the guard sets it unless DPoP is disabled). */
  readonly dpop?: boolean
}

/** Result of looking for a bearer token in a request. */
export type Extraction =
  | {
      readonly kind: 'token'
      readonly token: string
      /** `dpop` for `Authorization: DPoP` (RFC 9449 §7.1); absent for bearer tokens. */
      readonly scheme?: 'dpop'
    }
  | { readonly kind: 'none' }
  | { readonly kind: 'invalid_request'; readonly detail: string }
  | { readonly kind: 'invalid_token'; readonly detail: 'malformed' | 'too_large' }

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/
const NONE: Extraction = { kind: 'none' }

/**
 * Finds the bearer token of a request following RFC 6750 §2. A request that uses more than
 * one method, or sends two `Authorization` headers, is an `invalid_request`; a `Bearer`
 * credential that is not a b64token, or is longer than `maxLength`, is an `invalid_token`
 * (checked before any parsing). Another scheme (`Basic`, …) counts as no token.
 *
 * @example
 * extractToken({ method: 'GET', headers: { authorization: 'Bearer abc' } }, transports, 8192)
 * // => { kind: 'token', token: 'abc' }
 */
export function extractToken(
  request: ScopeguardRequest,
  transports: TokenTransports,
  maxLength: number,
): Extraction {
  const found = findToken(request, transports, maxLength)
  return found.kind === 'token' && !isB64Token(found.token)
    ? { kind: 'invalid_token', detail: 'malformed' }
    : found
}

/**
 * {@link extractToken} without the b64token syntax check, which the guard makes only before
 * a token's first verification (a cached token passed it already). Internal.
 */
export function findToken(
  request: ScopeguardRequest,
  transports: TokenTransports,
  maxLength: number,
): Extraction {
  // The first credential found, and how many there were (no list: this runs on every request).
  let found: Extraction = NONE
  let count = 0
  const header = readAuthorization(request)
  if (header === 'duplicate') {
    return { kind: 'invalid_request', detail: 'more than one Authorization header' }
  }
  if (header !== undefined) {
    const fromHeader = parseAuthorization(header, maxLength, transports.dpop === true)
    if (fromHeader.kind !== 'none') {
      found = fromHeader
      count++
    }
  }
  if (transports.query && request.query) {
    for (const value of new URLSearchParams(request.query).getAll('access_token')) {
      if (count++ === 0) found = checkToken(value, maxLength)
    }
  }
  if (transports.formBody) {
    for (const value of readFormToken(request) ?? []) {
      if (count++ === 0) found = checkToken(value, maxLength)
    }
  }
  if (count > 1) {
    return { kind: 'invalid_request', detail: 'more than one token transport' }
  }
  return found
}

function readAuthorization(request: ScopeguardRequest): string | 'duplicate' | undefined {
  const raw = request.rawHeaders
  if (raw) {
    let value: string | undefined
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]
      if (name !== undefined && name.length === 13 && name.toLowerCase() === 'authorization') {
        if (value !== undefined) return 'duplicate'
        value = raw[i + 1] ?? ''
      }
    }
    return value
  }
  const value = request.headers['authorization']
  if (Array.isArray(value)) return value.length > 1 ? 'duplicate' : value[0]
  return value as string | undefined
}

function parseAuthorization(value: string, maxLength: number, dpop: boolean): Extraction {
  const space = value.indexOf(' ')
  // `Bearer` as RFC 6750 writes it needs no lower-cased copy; any other case does.
  const scheme =
    space === 6 && value.startsWith('Bearer')
      ? 'bearer'
      : (space === -1 ? value : value.slice(0, space)).toLowerCase()
  if (scheme !== 'bearer' && !(dpop && scheme === 'dpop')) return NONE
  // The header is rejected on size before anything else looks at it.
  if (value.length > maxLength + scheme.length + 1)
    return { kind: 'invalid_token', detail: 'too_large' }
  const credentials = space === -1 ? '' : value.slice(space + 1)
  return checkToken(credentials, maxLength, scheme as 'bearer' | 'dpop')
}

function checkToken(
  token: string,
  maxLength: number,
  scheme: 'bearer' | 'dpop' = 'bearer',
): Extraction {
  if (token.length > maxLength) return { kind: 'invalid_token', detail: 'too_large' }
  if (token.length === 0) return { kind: 'invalid_token', detail: 'malformed' }
  return scheme === 'dpop' ? { kind: 'token', token, scheme } : { kind: 'token', token }
}

/**
 * The `DPoP` proof header of a request (RFC 9449 §4.1): its value, `'duplicate'` when the
 * request has more than one (§4.3 allows exactly one), or undefined.
 *
 * @example
 * readDpopHeader({ method: 'GET', headers: { dpop: 'eyJ…' } }) // => 'eyJ…'
 */
export function readDpopHeader(request: ScopeguardRequest): string | 'duplicate' | undefined {
  const raw = request.rawHeaders
  if (raw) {
    let value: string | undefined
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]
      if (name !== undefined && name.length === 4 && name.toLowerCase() === 'dpop') {
        if (value !== undefined) return 'duplicate'
        value = raw[i + 1] ?? ''
      }
    }
    return value
  }
  const value = request.headers['dpop']
  if (Array.isArray(value)) return value.length > 1 ? 'duplicate' : value[0]
  return value as string | undefined
}

/** Whether a token has the RFC 6750 §2.1 b64token syntax. */
export function isB64Token(token: string): boolean {
  return B64TOKEN.test(token)
}

function readFormToken(request: ScopeguardRequest): string[] | undefined {
  // §2.2: only in a form-encoded entity-body, and never with GET.
  if (request.method === 'GET' || request.method === 'HEAD') return undefined
  const type = request.headers['content-type']
  if (typeof type !== 'string' || !/^application\/x-www-form-urlencoded\s*(;|$)/i.test(type)) {
    return undefined
  }
  const body = request.body
  if (body === null || typeof body !== 'object' || !Object.hasOwn(body, 'access_token')) {
    return undefined
  }
  const value: unknown = (body as Record<string, unknown>)['access_token']
  if (typeof value === 'string') return [value]
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'string' ? v : ''))
  return ['']
}
