/**
 * Servers of the security suites: a trap that counts every request it receives (a `jku` or
 * `x5u` target, a redirect target), a scriptable authorization server whose discovery, key
 * set and introspection endpoints can be made to misbehave, and a raw HTTP/1.1 sender that
 * puts any bytes on the wire (CRLF, NUL, non-ASCII, absolute-form targets).
 */
import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { connect, type AddressInfo } from 'node:net'

export type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void

export interface Running {
  readonly origin: string
  readonly port: number
  close(): Promise<void>
}

async function serve(handler: Handler): Promise<Running & { server: Server }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => handler(req, res, Buffer.concat(chunks).toString()))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    server,
    port,
    origin: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** A server that must never be contacted: it records every request line it receives. */
export interface Trap extends Running {
  readonly requests: string[]
}

/** `body` is what the trap answers (a tempting JWK Set of the attacker's, say). */
export async function startTrap(body: unknown = { keys: [] }): Promise<Trap> {
  const requests: string[] = []
  const running = await serve((req, res) => {
    requests.push(`${req.method ?? ''} ${req.url ?? ''}`)
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify(body))
  })
  return { ...running, requests }
}

/** Canned misbehaviours of an endpoint. */
export const reply = {
  json:
    (body: unknown, status = 200): Handler =>
    (_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    },
  text:
    (text: string, contentType = 'application/json', status = 200): Handler =>
    (_req, res) => {
      res.writeHead(status, { 'content-type': contentType })
      res.end(text)
    },
  status:
    (status: number): Handler =>
    (_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end('{"error":"server_error"}')
    },
  redirect:
    (location: string, status = 302): Handler =>
    (_req, res) => {
      res.writeHead(status, { location })
      res.end()
    },
  /** Headers after `ms` milliseconds. */
  slow:
    (ms: number, then: Handler): Handler =>
    (req, res, body) => {
      const timer = setTimeout(() => then(req, res, body), ms)
      res.on('close', () => clearTimeout(timer))
    },
  /** Headers at once, then the body one byte at a time, every `ms` milliseconds. */
  trickle:
    (ms: number, text: string): Handler =>
    (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      let at = 0
      const timer = setInterval(() => {
        if (at >= text.length) {
          clearInterval(timer)
          res.end()
          return
        }
        res.write(text[at++] ?? '')
      }, ms)
      res.on('close', () => clearInterval(timer))
    },
  /** A `size`-byte body: `prefix`, then `fill` repeated, then `suffix`. */
  huge:
    (size: number, prefix = '', fill = ' ', suffix = ''): Handler =>
    (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      const chunk = fill.repeat(64 * 1024)
      let left = size - prefix.length - suffix.length
      res.write(prefix)
      const pump = (): void => {
        while (left > 0) {
          const part = left >= chunk.length ? chunk : chunk.slice(0, left)
          left -= part.length
          if (!res.write(part)) {
            res.once('drain', pump)
            return
          }
        }
        res.end(suffix)
      }
      pump()
    },
  /** Never answers. */
  hang: (): Handler => () => undefined,
}

/**
 * A scriptable authorization server: RFC 8414 and OIDC discovery documents, a key set and an
 * introspection endpoint, each replaceable at any time. Counts the requests to each path.
 */
export interface FakeAuthz extends Running {
  /** The issuer identifier the metadata names by default (the origin). */
  readonly issuer: string
  readonly jwksUri: string
  readonly introspectionUri: string
  /** Requests per path. */
  readonly hits: Record<string, number>
  /** Replaces the handler of a path (`/jwks`, `/introspect`, or a discovery path). */
  on(path: string, handler: Handler): void
}

export const OAUTH_METADATA = '/.well-known/oauth-authorization-server'
export const OIDC_METADATA = '/.well-known/openid-configuration'

export async function startFakeAuthz(jwks: unknown): Promise<FakeAuthz> {
  const handlers = new Map<string, Handler>()
  const hits: Record<string, number> = {}
  const running = await serve((req, res, body) => {
    const path = (req.url ?? '').split('?')[0] ?? ''
    hits[path] = (hits[path] ?? 0) + 1
    const handler = handlers.get(path)
    if (handler === undefined) {
      res.writeHead(404).end()
      return
    }
    handler(req, res, body)
  })
  const issuer = running.origin
  const metadata = {
    issuer,
    jwks_uri: `${issuer}/jwks`,
    introspection_endpoint: `${issuer}/introspect`,
    token_endpoint: `${issuer}/token`,
  }
  handlers.set(OAUTH_METADATA, reply.json(metadata))
  handlers.set(OIDC_METADATA, reply.json(metadata))
  handlers.set('/jwks', reply.json(jwks))
  handlers.set('/introspect', reply.json({ active: false }))
  return {
    ...running,
    issuer,
    jwksUri: metadata.jwks_uri,
    introspectionUri: metadata.introspection_endpoint,
    hits,
    on: (path, handler) => void handlers.set(path, handler),
  }
}

/** A response read off a raw socket. */
export interface RawReply {
  readonly status: number
  /** Header lines as received, `name: value`. */
  readonly headerLines: string[]
  /** Lower-cased header name → every value. */
  readonly headers: Record<string, string[]>
  readonly body: string
}

/**
 * Sends bytes as they are to `origin` and reads the response until the server closes the
 * connection (the request should carry `Connection: close`). A connection closed without a
 * response (Node's parser refusing the request outright) resolves with status 0.
 */
export function sendRawBytes(origin: string, bytes: Buffer | string): Promise<RawReply> {
  const url = new URL(origin)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname)
    const chunks: Buffer[] = []
    socket.setTimeout(10_000, () => socket.destroy(new Error('raw request timed out')))
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', reject)
    socket.on('close', () => resolve(parseReply(Buffer.concat(chunks).toString('latin1'))))
    socket.write(bytes)
  })
}

/**
 * Sends one request with any request target and header lines, verbatim (latin1 for
 * characters up to U+00FF; pass a Buffer in `headerBytes` for exact bytes).
 */
export function sendRaw(
  origin: string,
  request: {
    method?: string
    target: string
    headers?: readonly (readonly [string, string])[]
    body?: string
  },
): Promise<RawReply> {
  const host = new URL(origin).host
  const lines = [
    `${request.method ?? 'GET'} ${request.target} HTTP/1.1`,
    `Host: ${host}`,
    'Connection: close',
    ...(request.headers ?? []).map(([name, value]) => `${name}: ${value}`),
  ]
  const body = request.body ?? ''
  if (request.body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(body)}`)
  return sendRawBytes(origin, Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`, 'latin1'))
}

function parseReply(text: string): RawReply {
  if (text === '') return { status: 0, headerLines: [], headers: {}, body: '' }
  const end = text.indexOf('\r\n\r\n')
  const head = end === -1 ? text : text.slice(0, end)
  const [statusLine = '', ...headerLines] = head.split('\r\n')
  const headers: Record<string, string[]> = {}
  for (const line of headerLines) {
    const colon = line.indexOf(':')
    const name = line.slice(0, colon).trim().toLowerCase()
    ;(headers[name] ??= []).push(line.slice(colon + 1).trim())
  }
  let body = end === -1 ? '' : text.slice(end + 4)
  if (headers['transfer-encoding']?.includes('chunked')) body = unchunk(body)
  return { status: Number(statusLine.split(' ')[1] ?? 0), headerLines, headers, body }
}

function unchunk(text: string): string {
  let out = ''
  let at = 0
  for (;;) {
    const eol = text.indexOf('\r\n', at)
    if (eol === -1) return out
    const size = parseInt(text.slice(at, eol), 16)
    if (!(size > 0)) return out
    out += text.slice(eol + 2, eol + 2 + size)
    at = eol + 2 + size + 2
  }
}
