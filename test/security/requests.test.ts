/**
 * Attack class: requests. How a bearer token travels (RFC 6750 §2: header, form body, query,
 * each on and off, and every combination), how the `Bearer` scheme may be spelled, oversize
 * tokens (refused before any cryptography: `stats().jwtVerifications` does not move), what a
 * response may echo (nothing: every challenge is one of the fixed strings, every denial has
 * an empty body), duplicate `Authorization` headers and header bytes outside ASCII. Real HTTP
 * on both adapters; unusual bytes go through a raw socket so that they reach the server as
 * sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ScopeguardOptions } from '@scopeguard/core'
import { send } from '../support/http.js'
import { expectDenial, expectNoLeak } from './support/expect-denial.js'
import { PROBE_ADAPTERS, type ProbeApi } from './support/probe-apps.js'
import { sendRaw, sendRawBytes, type RawReply } from './support/servers.js'
import { AUDIENCE, CHALLENGES, createSigningKit, ISSUER, REALM } from './support/signing.js'

const kit = createSigningKit()
const TOKEN = kit.jwt(kit.claims())
const OTHER = kit.jwt(kit.claims({ jti: 'other' }))
const FORM = 'application/x-www-form-urlencoded'

const options = (extra: Partial<ScopeguardOptions> = {}): ScopeguardOptions => ({
  issuer: ISSUER,
  audience: AUDIENCE,
  keys: kit.jwks,
  realm: REALM,
  ...extra,
})

/** Every WWW-Authenticate value this API may send (its routes need read:items or admin). */
const FIXED_CHALLENGES = new Set<string>([
  CHALLENGES.missing,
  CHALLENGES.invalidRequest,
  CHALLENGES.invalidToken,
  CHALLENGES.dpopInvalidToken,
  CHALLENGES.forbidden,
  CHALLENGES.insufficient('read:items'),
  CHALLENGES.insufficient('admin'),
])

interface RequestCase {
  name: string
  reference: string
  method?: string
  /** Path and query. */
  target: string
  headers?: [string, string][]
  body?: string
  status: number
  /** The exact challenge, or null for none. */
  challenge: string | null
}

const auth = (value: string): [string, string] => ['Authorization', value]
const form = (body: string): { headers: [string, string][]; body: string } => ({
  headers: [['Content-Type', FORM]],
  body,
})

/** Transports with queryToken and formToken on. */
const TRANSPORTS_ON: RequestCase[] = [
  {
    name: 'header',
    reference: 'RFC 6750 §2.1',
    target: '/items',
    headers: [auth(`Bearer ${TOKEN}`)],
    status: 200,
    challenge: null,
  },
  {
    name: 'query',
    reference: 'RFC 6750 §2.3',
    target: `/items?access_token=${TOKEN}`,
    status: 200,
    challenge: null,
  },
  {
    name: 'form body',
    reference: 'RFC 6750 §2.2',
    method: 'POST',
    target: '/items',
    ...form(`access_token=${TOKEN}`),
    status: 200,
    challenge: null,
  },
  {
    name: 'form body with a charset parameter',
    reference: 'RFC 6750 §2.2',
    method: 'POST',
    target: '/items',
    headers: [['Content-Type', `${FORM}; charset=utf-8`]],
    body: `access_token=${TOKEN}`,
    status: 200,
    challenge: null,
  },
  {
    name: 'form body with an upper-case media type',
    reference: 'RFC 6750 §2.2, RFC 9110 §8.3.1 (case-insensitive)',
    method: 'POST',
    target: '/items',
    headers: [['Content-Type', FORM.toUpperCase()]],
    body: `access_token=${TOKEN}`,
    status: 200,
    challenge: null,
  },
  {
    name: 'header and query',
    reference: 'RFC 6750 §2 (MUST NOT use more than one method)',
    target: `/items?access_token=${TOKEN}`,
    headers: [auth(`Bearer ${TOKEN}`)],
    status: 400,
    challenge: CHALLENGES.invalidRequest,
  },
  {
    name: 'header and form body',
    reference: 'RFC 6750 §2',
    method: 'POST',
    target: '/items',
    headers: [auth(`Bearer ${TOKEN}`), ['Content-Type', FORM]],
    body: `access_token=${TOKEN}`,
    status: 400,
    challenge: CHALLENGES.invalidRequest,
  },
  {
    name: 'query and form body',
    reference: 'RFC 6750 §2',
    method: 'POST',
    target: `/items?access_token=${TOKEN}`,
    ...form(`access_token=${TOKEN}`),
    status: 400,
    challenge: CHALLENGES.invalidRequest,
  },
  {
    name: 'header, query and form body',
    reference: 'RFC 6750 §2',
    method: 'POST',
    target: `/items?access_token=${TOKEN}`,
    headers: [auth(`Bearer ${TOKEN}`), ['Content-Type', FORM]],
    body: `access_token=${TOKEN}`,
    status: 400,
    challenge: CHALLENGES.invalidRequest,
  },
  {
    name: 'the same query token twice',
    reference: 'RFC 6750 §2.3, §3.1',
    target: `/items?access_token=${TOKEN}&access_token=${TOKEN}`,
    status: 400,
    challenge: CHALLENGES.invalidRequest,
  },
  {
    name: 'two different query tokens',
    reference: 'RFC 6750 §2.3, §3.1',
    target: `/items?access_token=${TOKEN}&access_token=${OTHER}`,
    status: 400,
    challenge: CHALLENGES.invalidRequest,
  },
  {
    name: 'two form tokens',
    reference: 'RFC 6750 §2.2, §3.1',
    method: 'POST',
    target: '/items',
    ...form(`access_token=${TOKEN}&access_token=${OTHER}`),
    status: 400,
    challenge: CHALLENGES.invalidRequest,
  },
  {
    name: 'a form token on GET',
    reference: 'RFC 6750 §2.2 (not with GET)',
    method: 'GET',
    target: '/items',
    ...form(`access_token=${TOKEN}`),
    status: 401,
    challenge: CHALLENGES.missing,
  },
  {
    name: 'a "form" token in a JSON body',
    reference: 'RFC 6750 §2.2 (application/x-www-form-urlencoded only)',
    method: 'POST',
    target: '/items',
    headers: [['Content-Type', 'application/json']],
    body: JSON.stringify({ access_token: TOKEN }),
    status: 401,
    challenge: CHALLENGES.missing,
  },
  {
    name: 'a "form" token in a text/plain body',
    reference: 'RFC 6750 §2.2',
    method: 'POST',
    target: '/items',
    headers: [['Content-Type', 'text/plain']],
    body: `access_token=${TOKEN}`,
    status: 401,
    challenge: CHALLENGES.missing,
  },
  {
    name: 'an empty query token',
    reference: 'RFC 6750 §2.3, §3.1',
    target: '/items?access_token=',
    status: 401,
    challenge: CHALLENGES.invalidToken,
  },
  {
    name: 'a query token with an encoded space',
    reference: 'RFC 6750 §2.1 (b64token)',
    target: `/items?access_token=${TOKEN}%20x`,
    status: 401,
    challenge: CHALLENGES.invalidToken,
  },
  {
    name: 'the query parameter in upper case',
    reference: 'RFC 6750 §2.3 (access_token)',
    target: `/items?ACCESS_TOKEN=${TOKEN}`,
    status: 401,
    challenge: CHALLENGES.missing,
  },
  {
    name: 'the query parameter with brackets',
    reference: 'RFC 6750 §2.3',
    target: `/items?access_token[]=${TOKEN}`,
    status: 401,
    challenge: CHALLENGES.missing,
  },
  {
    name: 'the query parameter after a semicolon',
    reference: 'RFC 6750 §2.3, WHATWG URL (& only)',
    target: `/items?a=1;access_token=${TOKEN}`,
    status: 401,
    challenge: CHALLENGES.missing,
  },
]

/** Transports with both options off: the query and the form body are not looked at. */
const TRANSPORTS_OFF: RequestCase[] = [
  {
    name: 'query, option off',
    reference: 'RFC 6750 §2.3 (optional)',
    target: `/items?access_token=${TOKEN}`,
    status: 401,
    challenge: CHALLENGES.missing,
  },
  {
    name: 'form body, option off',
    reference: 'RFC 6750 §2.2 (optional)',
    method: 'POST',
    target: '/items',
    ...form(`access_token=${TOKEN}`),
    status: 401,
    challenge: CHALLENGES.missing,
  },
  {
    name: 'header and query, query option off (the query is just a parameter)',
    reference: 'RFC 6750 §2',
    target: `/items?access_token=${OTHER}`,
    headers: [auth(`Bearer ${TOKEN}`)],
    status: 200,
    challenge: null,
  },
  {
    name: 'header and form body, form option off',
    reference: 'RFC 6750 §2',
    method: 'POST',
    target: '/items',
    headers: [auth(`Bearer ${TOKEN}`), ['Content-Type', FORM]],
    body: `access_token=${OTHER}`,
    status: 200,
    challenge: null,
  },
]

/** The scheme and its spacing (values as Node delivers them: it trims surrounding whitespace). */
const SCHEMES: [value: string, status: number, challenge: string | null, reference: string][] = [
  [`bearer ${TOKEN}`, 200, null, 'RFC 9110 §11.1 (scheme is case-insensitive)'],
  [`BEARER ${TOKEN}`, 200, null, 'RFC 9110 §11.1'],
  [`BeArEr ${TOKEN}`, 200, null, 'RFC 9110 §11.1'],
  [`Bearer ${TOKEN} `, 200, null, 'RFC 9110 §5.5 (OWS around a field value is not part of it)'],
  [` Bearer ${TOKEN}`, 200, null, 'RFC 9110 §5.5'],
  [`Bearer  ${TOKEN}`, 401, CHALLENGES.invalidToken, 'RFC 6750 §2.1 (scopeguard: a single space)'],
  [`Bearer\t${TOKEN}`, 401, CHALLENGES.missing, 'RFC 9110 §11.4 (SP, not HTAB: another scheme)'],
  [`Bearer,${TOKEN}`, 401, CHALLENGES.missing, 'RFC 9110 §11.4'],
  [`Bearer=${TOKEN}`, 401, CHALLENGES.missing, 'RFC 9110 §11.4'],
  [`Bearer:${TOKEN}`, 401, CHALLENGES.missing, 'RFC 9110 §11.4'],
  [`Bearer${TOKEN}`, 401, CHALLENGES.missing, 'RFC 9110 §11.4'],
  ['Bearer', 401, CHALLENGES.invalidToken, 'RFC 6750 §2.1 (b64token required)'],
  ['Bearer ', 401, CHALLENGES.invalidToken, 'RFC 6750 §2.1'],
  [`Bearer ${TOKEN} ${TOKEN}`, 401, CHALLENGES.invalidToken, 'RFC 6750 §2.1'],
  [`Bearer "${TOKEN}"`, 401, CHALLENGES.invalidToken, 'RFC 6750 §2.1'],
  [`Bearer ${TOKEN}, Basic eDp5`, 401, CHALLENGES.invalidToken, 'RFC 6750 §2.1'],
  [`Basic eDp5, Bearer ${TOKEN}`, 401, CHALLENGES.missing, 'RFC 9110 §11.6.2'],
  [`DPoP ${TOKEN}`, 401, CHALLENGES.dpopInvalidToken, 'RFC 9449 §7.1 (a token not bound to a key)'],
  [`Bearer ${TOKEN}=`, 401, CHALLENGES.invalidToken, 'RFC 7515 §7.1 (not a compact JWS)'],
  [`Bearer token=${TOKEN}`, 401, CHALLENGES.invalidToken, 'RFC 6750 §2.1 (no auth-params)'],
]

/** Tokens and paths that try to put text of their own into the response headers. */
const REFLECTION: { name: string; target: string; headers?: [string, string][] }[] = [
  {
    name: 'quotes and realm= in the token',
    target: '/items',
    headers: [auth('Bearer a"realm="evil')],
  },
  {
    name: 'an error attribute in the token',
    target: '/items',
    headers: [auth('Bearer x", error="insufficient_scope", scope="evil')],
  },
  { name: 'a backslash in the token', target: '/items', headers: [auth('Bearer evil\\"x')] },
  {
    name: 'CRLF and a header in the token (raw)',
    target: '/items',
    headers: [auth('Bearer evil\r\nX-Evil: 1')],
  },
  { name: 'encoded CRLF in the path', target: '/items%0d%0aSet-Cookie:%20evil=1' },
  { name: 'encoded CRLF in the query token', target: '/items?access_token=evil%0d%0aX-Evil:%201' },
  { name: 'quotes and realm= in the path', target: '/items"realm="evil' },
  { name: 'quotes and realm= in the query', target: '/items?x="realm="evil"' },
  { name: 'encoded quotes in the path', target: '/admin%22,%20error=%22evil' },
  { name: 'realm= in a query token', target: '/items?access_token=evil%22realm%3D%22x' },
]

/** Header values with bytes outside printable ASCII (latin1 strings: one char per byte). */
const NON_ASCII: [name: string, value: string][] = [
  ['a latin1 é in the token', `Bearer ${TOKEN.slice(0, 20)}\u00e9${TOKEN.slice(20)}`],
  [
    'UTF-8 bytes of a Cyrillic а in the token',
    `Bearer ${TOKEN}${Buffer.from('а').toString('latin1')}`,
  ],
  [
    'a Cyrillic е in the scheme (UTF-8 bytes)',
    `B${Buffer.from('е').toString('latin1')}arer ${TOKEN}`,
  ],
  ['a trailing no-break space (0xA0, not OWS)', `Bearer ${TOKEN}\u00a0`],
  ['a 0x80 byte in the middle', `Bearer ${TOKEN.slice(0, 30)}\u0080${TOKEN.slice(30)}`],
  ['a 0xFF byte after the scheme', `Bearer\u00ff${TOKEN}`],
]

function expectNothingReflected(reply: RawReply, context: string): void {
  expect(reply.status, context).not.toBe(500)
  for (const line of reply.headerLines) expect(line.toLowerCase(), context).not.toMatch(/evil/)
  for (const value of reply.headers['www-authenticate'] ?? []) {
    expect(FIXED_CHALLENGES.has(value), `${context}: ${value}`).toBe(true)
  }
  expect(reply.headers['www-authenticate']?.length ?? 0, context).toBeLessThanOrEqual(1)
  expectNoLeak(reply.body)
  // scopeguard's denials have empty bodies (a 404 is the framework's own page).
  if ([400, 401, 403, 503].includes(reply.status)) expect(reply.body, context).toBe('')
}

describe.each(PROBE_ADAPTERS)('%s adapter: requests', (_name, startApi) => {
  let api: ProbeApi
  let offApi: ProbeApi
  let smallApi: ProbeApi
  beforeAll(async () => {
    ;[api, offApi, smallApi] = await Promise.all([
      startApi(options({ queryToken: true, formToken: true })),
      startApi(options()),
      startApi(options({ queryToken: true, formToken: true, maxTokenLength: 100 })),
    ])
  })
  afterAll(async () => {
    await Promise.all([api, offApi, smallApi].map((a) => a?.close()))
  })

  const run = async (target: ProbeApi, c: RequestCase) => {
    // A GET with a body goes out raw, with a Content-Length (Node's client would chunk it).
    const response =
      c.method === 'GET' && c.body !== undefined
        ? await sendRaw(target.url, { ...c, headers: c.headers ?? [] }).then((r) => ({
            status: r.status,
            headers: { 'www-authenticate': r.headers['www-authenticate']?.[0] },
            body: r.body,
          }))
        : await send(`${target.url}${c.target}`, {
            method: c.method ?? 'GET',
            headers: c.headers ?? [],
            ...(c.body === undefined ? {} : { body: c.body }),
          })
    if (c.status >= 400) expectDenial(response, c.status as 400 | 401, c.challenge)
    else expect(response.status).toBe(c.status)
  }

  it.each(TRANSPORTS_ON.map((c) => [`${c.name} (${c.reference})`, c] as const))(
    'transports on: %s',
    (_title, c) => run(api, c),
  )

  it.each(TRANSPORTS_OFF.map((c) => [`${c.name} (${c.reference})`, c] as const))(
    'transports off: %s',
    (_title, c) => run(offApi, c),
  )

  it('HEAD is judged like GET, with no body either way', async () => {
    const denied = await send(`${api.url}/items`, { method: 'HEAD' })
    expectDenial(denied, 401, CHALLENGES.missing)
    const allowed = await send(`${api.url}/items`, {
      method: 'HEAD',
      headers: [auth(`Bearer ${TOKEN}`)],
    })
    expect(allowed.status).toBe(200)
  })

  it.each(
    SCHEMES.map(
      ([value, ...rest]) => [JSON.stringify(value.replace(TOKEN, 'T')), value, ...rest] as const,
    ),
  )('scheme spelling %s', async (_title, value, status, challenge, reference) => {
    // Raw, so that the spacing reaches the server exactly as written.
    const reply = await sendRaw(api.url, { target: '/items', headers: [['Authorization', value]] })
    expect(
      { status: reply.status, challenge: reply.headers['www-authenticate']?.[0] ?? null },
      reference,
    ).toEqual({
      status,
      challenge,
    })
    if (status >= 400) expect(reply.body).toBe('')
  })

  it('refuses oversize tokens before any cryptography, in every transport (RFC 6750 §3.1)', async () => {
    const before = smallApi.stats().jwtVerifications
    // A real, valid token is 600+ characters: over maxTokenLength 100.
    const oversize: RequestCase[] = [
      {
        name: 'header',
        reference: 'RFC 6750 §3.1 (invalid_token), docs: maxTokenLength',
        target: '/items',
        headers: [auth(`Bearer ${TOKEN}`)],
        status: 401,
        challenge: CHALLENGES.invalidToken,
      },
      {
        name: 'query',
        reference: 'RFC 6750 §3.1 (invalid_token), docs: maxTokenLength',
        target: `/items?access_token=${TOKEN}`,
        status: 401,
        challenge: CHALLENGES.invalidToken,
      },
      {
        name: 'form',
        reference: 'RFC 6750 §3.1 (invalid_token), docs: maxTokenLength',
        method: 'POST',
        target: '/items',
        ...form(`access_token=${TOKEN}`),
        status: 401,
        challenge: CHALLENGES.invalidToken,
      },
      {
        name: 'scheme and 10 kB',
        reference: 'RFC 6750 §3.1 (invalid_token), docs: maxTokenLength',
        target: '/items',
        headers: [auth(`bearer ${'A'.repeat(10_000)}`)],
        status: 401,
        challenge: CHALLENGES.invalidToken,
      },
    ]
    for (const c of oversize) await run(smallApi, c)
    expect(smallApi.stats().jwtVerifications).toBe(before)
    // The boundary: 100 characters are verified (and refused), 101 are not even parsed.
    const jwtShaped = (length: number) => `a.b.${'c'.repeat(length - 4)}`
    await run(smallApi, {
      name: '100',
      reference: 'RFC 6750 §3.1 (invalid_token), docs: maxTokenLength',
      target: '/items',
      headers: [auth(`Bearer ${jwtShaped(100)}`)],
      status: 401,
      challenge: CHALLENGES.invalidToken,
    })
    expect(smallApi.stats().jwtVerifications).toBe(before + 1)
    await run(smallApi, {
      name: '101',
      reference: 'RFC 6750 §3.1 (invalid_token), docs: maxTokenLength',
      target: '/items',
      headers: [auth(`Bearer ${jwtShaped(101)}`)],
      status: 401,
      challenge: CHALLENGES.invalidToken,
    })
    expect(smallApi.stats().jwtVerifications).toBe(before + 1)
  })

  it('refuses a token padded past the default maxTokenLength (8192) without verifying it', async () => {
    const before = api.stats().jwtVerifications
    const padded = `${TOKEN}${'A'.repeat(8193 - TOKEN.length)}`
    await run(api, {
      name: 'padded',
      reference: 'RFC 6750 §3.1 (invalid_token), docs: maxTokenLength',
      target: '/items',
      headers: [auth(`Bearer ${padded}`)],
      status: 401,
      challenge: CHALLENGES.invalidToken,
    })
    expect(api.stats().jwtVerifications).toBe(before)
    // Beyond Node's header limit (16 KiB) the request never reaches the app: 431, nothing verified.
    const huge = await sendRaw(api.url, {
      target: '/items',
      headers: [['Authorization', `Bearer ${'A'.repeat(20_000)}`]],
    })
    expect(huge.status).toBe(431)
    expect(api.stats().jwtVerifications).toBe(before)
  })

  it('never reflects attacker input into headers, and denials have empty bodies', async () => {
    for (const { name, target, headers } of REFLECTION) {
      expectNothingReflected(await sendRaw(api.url, { target, headers: headers ?? [] }), name)
      expectNothingReflected(
        await sendRaw(api.url, {
          target,
          headers: [...(headers ?? []), ['Authorization', `Bearer ${TOKEN}`]],
        }),
        `${name}, with a valid token too`,
      )
    }
  })

  it('answers duplicate Authorization headers with 400 invalid_request (RFC 9110 §5.3, RFC 6750 §3.1)', async () => {
    const duplicates: [string, [string, string][]][] = [
      ['the same token twice', [auth(`Bearer ${TOKEN}`), auth(`Bearer ${TOKEN}`)]],
      ['two tokens', [auth(`Bearer ${TOKEN}`), auth(`Bearer ${OTHER}`)]],
      ['Bearer and Basic', [auth(`Bearer ${TOKEN}`), auth('Basic eDp5')]],
      ['Basic and Bearer', [auth('Basic eDp5'), auth(`Bearer ${TOKEN}`)]],
      [
        'names in different case',
        [
          ['authorization', `Bearer ${TOKEN}`],
          ['AUTHORIZATION', `Bearer ${TOKEN}`],
        ],
      ],
      ['an empty one first', [['Authorization', ''], auth(`Bearer ${TOKEN}`)]],
      ['three', [auth(`Bearer ${TOKEN}`), auth(`Bearer ${TOKEN}`), auth(`Bearer ${TOKEN}`)]],
      [
        'separated by other headers',
        [auth(`Bearer ${TOKEN}`), ['X-Other', '1'], auth(`Bearer ${TOKEN}`)],
      ],
    ]
    for (const [name, headers] of duplicates) {
      const reply = await sendRaw(api.url, { target: '/items', headers })
      expect({
        name,
        status: reply.status,
        challenge: reply.headers['www-authenticate'] ?? [],
      }).toEqual({
        name,
        status: 400,
        challenge: [CHALLENGES.invalidRequest],
      })
      expect(reply.body).toBe('')
    }
    // One header listing two credentials is one header: refused as malformed, not accepted.
    const listed = await sendRaw(api.url, {
      target: '/items',
      headers: [auth(`Bearer ${TOKEN}, Bearer ${OTHER}`)],
    })
    expect(listed.status).toBe(401)
  })

  it('refuses header values with bytes outside ASCII, never with a 500 or a 200', async () => {
    for (const [name, value] of NON_ASCII) {
      const reply = await sendRaw(api.url, {
        target: '/items',
        headers: [['Authorization', value]],
      })
      expect(reply.status, name).toBe(401)
      expect(FIXED_CHALLENGES.has(reply.headers['www-authenticate']?.[0] ?? ''), name).toBe(true)
      expect(reply.body, name).toBe('')
    }
    // Bytes Node's parser refuses outright (NUL, DEL, obs-fold): 400 from Node, never the app.
    const refusedByNode: [string, Buffer][] = [
      ['NUL', Buffer.from(`Bearer ${TOKEN}\u0000x`, 'latin1')],
      ['DEL', Buffer.from(`Bearer ${TOKEN}\u007f`, 'latin1')],
      ['obs-fold', Buffer.from(`Bearer\r\n ${TOKEN}`, 'latin1')],
    ]
    for (const [name, value] of refusedByNode) {
      const host = new URL(api.url).host
      const reply = await sendRawBytes(
        api.url,
        Buffer.concat([
          Buffer.from(
            `GET /items HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\nAuthorization: `,
          ),
          value,
          Buffer.from('\r\n\r\n'),
        ]),
      )
      expect([400, 401], name).toContain(reply.status)
    }
  })
})
