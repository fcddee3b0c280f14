import { hash, timingSafeEqual } from 'node:crypto'
import { TLSSocket } from 'node:tls'
import { ScopeguardConfigError } from './errors.js'
import type { ScopeguardRequest } from './request.js'

// RFC 7230 token: a header name.
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/
// Headers a client controls or that carry other credentials: never a certificate source.
const RESERVED = new Set(['authorization', 'cookie', 'host', 'dpop', 'content-type'])
const PEM = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/
// base64url of a SHA-256 digest: 43 characters, no padding (RFC 8705 §3.1).
const THUMBPRINT = /^[A-Za-z0-9_-]{43}$/

/**
 * The SHA-256 thumbprint of a DER-encoded X.509 certificate, base64url-encoded without
 * padding: the value of `cnf["x5t#S256"]` in a token bound to it (RFC 8705 §3.1).
 *
 * @example
 * const thumbprint = certificateThumbprint(new X509Certificate(pem).raw)
 * const token = await sign({ cnf: { 'x5t#S256': thumbprint } })
 */
export function certificateThumbprint(der: Uint8Array): string {
  return hash('sha256', der, 'base64url')
}

/**
 * The client certificate of a TLS connection (DER), when the peer presented one: what the
 * adapters hand core for certificate-bound tokens. Undefined for a plain-HTTP socket or a
 * TLS client without a certificate. The certificate need not chain to a trusted CA: RFC 8705
 * §2.2 allows self-signed certificates, and the binding (not the chain) is what is checked.
 *
 * @example
 * const der = peerCertificate(req.socket)
 */
export function peerCertificate(socket: unknown): Uint8Array | undefined {
  if (!(socket instanceof TLSSocket)) return undefined
  const raw = (socket.getPeerCertificate(false) as { raw?: Buffer } | null)?.raw
  return raw !== undefined && raw.length > 0 ? raw : undefined
}

/**
 * Reads a certificate a trusted proxy forwarded in a header: RFC 9440 `:base64:`, URL-encoded
 * PEM (nginx `$ssl_client_escaped_cert`), PEM, or base64 DER. Undefined when absent, sent
 * twice, or unreadable.
 *
 * @example
 * readCertificateHeader(req.headers['client-cert']) // => Uint8Array (DER) | undefined
 */
export function readCertificateHeader(
  value: string | readonly string[] | undefined,
): Uint8Array | undefined {
  if (typeof value !== 'string') return undefined // absent, or two values: refuse both
  let text = value.trim()
  if (text.length > 2 && text.startsWith(':') && text.endsWith(':')) text = text.slice(1, -1)
  else if (text.includes('%')) {
    try {
      text = decodeURIComponent(text)
    } catch {
      return undefined
    }
  }
  const body = (PEM.exec(text)?.[1] ?? text).replace(/\s+/g, '')
  if (body === '' || !BASE64.test(body)) return undefined
  return Buffer.from(body, 'base64')
}

/**
 * The certificate a trusted proxy forwarded in header `name` of a request: read from the raw
 * header list when there is one, so that a header sent twice (which Node joins with `, `)
 * counts as unreadable rather than as its first value.
 *
 * @example
 * forwardedCertificate(request, 'client-cert') // => Uint8Array (DER) | undefined
 */
export function forwardedCertificate(
  request: ScopeguardRequest,
  name: string,
): Uint8Array | undefined {
  const raw = request.rawHeaders
  if (raw === undefined) return readCertificateHeader(request.headers[name])
  let value: string | undefined
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]?.length === name.length && raw[i]?.toLowerCase() === name) {
      if (value !== undefined) return undefined
      value = raw[i + 1] ?? ''
    }
  }
  return readCertificateHeader(value)
}

/**
 * Whether a DER certificate has the thumbprint a token is bound to, compared in constant
 * time. A missing certificate never matches.
 *
 * @example
 * if (!matchesThumbprint(auth.token.certificateThumbprint, der)) refuse()
 */
export function matchesThumbprint(thumbprint: string, der: Uint8Array | undefined): boolean {
  if (der === undefined) return false
  const expected = Buffer.from(thumbprint)
  const actual = Buffer.from(certificateThumbprint(der))
  return expected.length === actual.length && timingSafeEqual(expected, actual)
}

/** Whether a `cnf["x5t#S256"]` value has the shape of a SHA-256 thumbprint. */
export function isThumbprint(value: unknown): value is string {
  return typeof value === 'string' && THUMBPRINT.test(value)
}

/** Checks the `mtls.certificateHeader` option at start-up. */
export function checkCertificateHeader(value: unknown): string {
  if (typeof value !== 'string' || !HEADER_NAME.test(value) || RESERVED.has(value)) {
    throw new ScopeguardConfigError(
      `mtls.certificateHeader must be a lower-case header name your proxy sets (e.g. "client-cert" or "x-ssl-client-cert"), not ${JSON.stringify(value)}`,
    )
  }
  return value
}
