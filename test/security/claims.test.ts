/**
 * Attack class: claims. Tokens validly signed by the issuer's static keys (so only the claim
 * checks stand between them and the API), with an injected clock: time claims at and around
 * the `clockTolerance` boundary and with wrong types, issuer and audience near-misses, ID
 * tokens, prototype-pollution members, duplicate JSON members, and scope strings built to
 * look like scopes they are not. Over real HTTP on both adapters, and against core directly
 * for what has no HTTP surface (policy judgement, decision records, 10,000-scope tokens).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  compileRequirement,
  createGuard,
  type DecisionEvent,
  type Guard,
  type ScopeguardOptions,
} from '@scopeguard/core'
import { bearer, send } from '../support/http.js'
import { expectDenial, expectInvalidToken } from './support/expect-denial.js'
import { PROBE_ADAPTERS, type AuthDescription, type ProbeApi } from './support/probe-apps.js'
import { reply, startFakeAuthz, type FakeAuthz } from './support/servers.js'
import { AUDIENCE, CHALLENGES, createSigningKit, ISSUER, REALM } from './support/signing.js'

const kit = createSigningKit()
/** The fixed "now" of the suite, in seconds. */
const T = 1_800_000_000
let clockMs = T * 1000
const clock = (): number => clockMs
let serial = 0
/** Claims valid at T, each token distinct (its own jti), so no case is answered from cache. */
const claims = (extra: Record<string, unknown> = {}): Record<string, unknown> =>
  kit.claims({ jti: `jti-${++serial}`, ...extra }, T)
const token = (extra: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
  kit.jwt(claims(extra), header)
/** A token whose payload is the exact text `{<members>, <valid claims>}`. */
const rawToken = (members: string, header = '{"alg":"RS256","typ":"at+jwt","kid":"rsa-1"}') =>
  kit.raw(header, `{${members},${JSON.stringify(claims()).slice(1)}`)
/** A token whose payload is the valid claims followed by `members` (later members win). */
const rawTokenAfter = (members: string, base: Record<string, unknown> = claims()) =>
  kit.raw(
    '{"alg":"RS256","typ":"at+jwt","kid":"rsa-1"}',
    `${JSON.stringify(base).slice(0, -1)},${members}}`,
  )

const baseOptions = (extra: Partial<ScopeguardOptions> = {}): ScopeguardOptions => ({
  issuer: ISSUER,
  audience: AUDIENCE,
  keys: kit.jwks,
  realm: REALM,
  clockTolerance: 5,
  clock,
  ...extra,
})

type Case = [name: string, reference: string, token: () => string]

const TIME_CASES: [name: string, reference: string, token: () => string, status: 200 | 401][] = [
  ['exp = now - tolerance - 1', 'RFC 7519 §4.1.4', () => token({ exp: T - 6 }), 401],
  [
    'exp = now - tolerance (the boundary is expired)',
    'RFC 7519 §4.1.4',
    () => token({ exp: T - 5 }),
    401,
  ],
  ['exp = now - tolerance + 1', 'RFC 7519 §4.1.4', () => token({ exp: T - 4 }), 200],
  ['exp = now', 'RFC 7519 §4.1.4', () => token({ exp: T }), 200],
  ['nbf = now + tolerance - 1', 'RFC 7519 §4.1.5', () => token({ nbf: T + 4 }), 200],
  ['nbf = now + tolerance', 'RFC 7519 §4.1.5', () => token({ nbf: T + 5 }), 200],
  ['nbf = now + tolerance + 1', 'RFC 7519 §4.1.5', () => token({ nbf: T + 6 }), 401],
  ['iat = now + tolerance - 1', 'RFC 7519 §4.1.6', () => token({ iat: T + 4 }), 200],
  ['iat = now + tolerance', 'RFC 7519 §4.1.6', () => token({ iat: T + 5 }), 200],
  [
    'iat = now + tolerance + 1 (issued in the future)',
    'RFC 7519 §4.1.6',
    () => token({ iat: T + 6 }),
    401,
  ],
  ['iat far in the past, no maxTokenAge', 'RFC 7519 §4.1.6', () => token({ iat: 0 }), 200],
  ['exp in the year 3000', 'RFC 7519 §2 (NumericDate)', () => token({ exp: 32_503_680_000 }), 200],
]

const BAD_TIME_CASES: Case[] = [
  ...(
    [
      ['exp as a string', `"${T + 600}"`],
      ['exp null', 'null'],
      ['exp true', 'true'],
      ['exp as an array', `[${T + 600}]`],
      ['exp as an object', `{"value":${T + 600}}`],
      ['exp NaN (not JSON)', 'NaN'],
      ['exp Infinity (not JSON)', 'Infinity'],
      ['exp negative', '-1'],
      ['exp 0', '0'],
      ['exp -1e400 (parses to -Infinity)', '-1e400'],
      ['nbf as a string', `"${T}"`],
      ['nbf null', 'null'],
      ['nbf as an array', `[${T}]`],
      ['iat as a string', `"${T}"`],
      ['iat null', 'null'],
      ['iat as an object', '{}'],
      ['iat 1e400 (parses to Infinity: issued in the future)', '1e400'],
    ] as [string, string][]
  ).map(([name, value]): Case => {
    const claim = name.split(' ')[0] as string
    return [name, 'RFC 7519 §2 (NumericDate), §4.1.4-6', () => rawTokenAfter(`"${claim}":${value}`)]
  }),
  [
    'no exp',
    'RFC 9068 §2.2 (exp is required)',
    () => {
      const { exp: _exp, ...rest } = claims()
      return kit.jwt(rest)
    },
  ],
]

const ISSUER_CASES: Case[] = (
  [
    ['with a trailing slash', `${ISSUER}/`],
    ['in upper case', ISSUER.toUpperCase()],
    ['with an upper-case scheme', ISSUER.replace('https', 'HTTPS')],
    ['with a leading space', ` ${ISSUER}`],
    ['with a trailing space', `${ISSUER} `],
    ['with a trailing tab', `${ISSUER}\t`],
    ['with a trailing NUL', `${ISSUER}\u0000`],
    ['with a trailing #', `${ISSUER}#`],
    ['with a trailing ?', `${ISSUER}?`],
    ['with the default port', ISSUER.replace('.test', '.test:443')],
    ['with a Cyrillic а', ISSUER.replace('auth', 'аuth')],
    ['as an array', [ISSUER]],
    ['as an object', { iss: ISSUER }],
    ['null', null],
    ['empty', ''],
    ['a number', 1],
    ['missing', undefined],
  ] as [string, unknown][]
).map(([name, iss]): Case => [`iss ${name}`, 'RFC 7519 §4.1.1, RFC 9068 §4', () => token({ iss })])

const AUDIENCE_CASES: Case[] = (
  [
    ['with a trailing slash', `${AUDIENCE}/`],
    ['in upper case', AUDIENCE.toUpperCase()],
    ['with a leading space', ` ${AUDIENCE}`],
    ['with a trailing newline', `${AUDIENCE}\n`],
    ['as an empty array', []],
    ['as an array of another audience', ['https://other-api.scopeguard.test']],
    ['as an array holding a near-miss', [`${AUDIENCE}/`]],
    ['as a nested array', [[AUDIENCE]]],
    ['as an object', { aud: AUDIENCE }],
    ['as an object with index keys', { 0: AUDIENCE, length: 1 }],
    ['null', null],
    ['empty', ''],
    ['missing', undefined],
  ] as [string, unknown][]
).map(([name, aud]): Case => [`aud ${name}`, 'RFC 7519 §4.1.3, RFC 9068 §4', () => token({ aud })])

const ID_TOKEN_MEMBERS = ['nonce', 'at_hash', 'c_hash', 's_hash']
const ID_TOKEN_CASES: Case[] = ID_TOKEN_MEMBERS.flatMap((member) =>
  (
    [
      ['typ JWT', { typ: 'JWT' }],
      ['typ jwt', { typ: 'jwt' }],
      ['typ application/jwt', { typ: 'application/jwt' }],
      ['no typ', { typ: undefined }],
    ] as [string, Record<string, unknown>][]
  ).map(([typ, header]): Case => [
    `${member} with ${typ}`,
    'RFC 9068 §4, RFC 8725 §3.11, OIDC Core §2',
    () => token({ [member]: 'abc' }, header),
  ]),
)

const TYPE_CASES: Case[] = (
  [
    ['typ none', 'none'],
    ['typ id_token+jwt', 'id_token+jwt'],
    ['typ dpop+jwt', 'dpop+jwt'],
    ['typ "at+jwt " (trailing space)', 'at+jwt '],
    ['typ at+jwt with a parameter', 'at+jwt; charset=utf-8'],
    ['typ as a number', 7],
    ['typ null', null],
    ['typ as an array', ['at+jwt']],
  ] as [string, unknown][]
).map(([name, typ]): Case => [name, 'RFC 9068 §4, RFC 8725 §3.11', () => token({}, { typ })])

async function probe(api: ProbeApi, tokenText: string): Promise<AuthDescription> {
  const response = await send(`${api.url}/probe`, { headers: [bearer(tokenText)] })
  expect(response.status).toBe(200)
  return JSON.parse(response.body) as AuthDescription
}

const status = async (api: ProbeApi, path: string, tokenText: string): Promise<number> =>
  (await send(`${api.url}${path}`, { headers: [bearer(tokenText)] })).status

/** Prototype-pollution payloads, each with valid claims and `scope: read:items`. */
const POLLUTION: [string, string][] = [
  [
    '__proto__ with admin, scope and polluted',
    '"__proto__":{"admin":true,"scope":"admin","polluted":"yes"}',
  ],
  ['constructor.prototype', '"constructor":{"prototype":{"polluted":"yes","scope":"admin"}}'],
  ['prototype', '"prototype":{"polluted":"yes","admin":true}'],
  [
    'nested __proto__ and constructor in a claim object',
    '"realm_access":{"__proto__":{"roles":["admin"]},"constructor":{"prototype":{"polluted":"yes"}}}',
  ],
  ['__proto__ inside an array member', '"groups":[{"__proto__":{"polluted":"yes","admin":true}}]'],
  ['__proto__ under scp', '"scp":{"__proto__":["admin"]}'],
  [
    '__proto__ twenty levels deep',
    `"deep":${'{"a":'.repeat(20)}{"__proto__":{"polluted":"yes"}}${'}'.repeat(20)}`,
  ],
]

const snapshotPrototypes = () => ({
  object: Object.getOwnPropertyNames(Object.prototype).sort(),
  array: Object.getOwnPropertyNames(Array.prototype).sort(),
  function: Object.getOwnPropertyNames(Function.prototype).sort(),
})

/** Scope claims that must never grant `admin` (nor `read:items`: they are one entry each). */
const LOOKALIKE_SCOPES: [string, unknown][] = [
  ['tab-joined', 'read:items\tadmin'],
  ['newline-joined', 'read:items\nadmin'],
  ['CRLF-joined', 'read:items\r\nadmin'],
  ['NUL-joined', 'read:items\u0000admin'],
  ['non-breaking-space-joined', 'read:items\u00a0admin'],
  ['ideographic-space-joined', 'read:items\u3000admin'],
  ['vertical-tab-joined', 'read:items\u000badmin'],
  ['form-feed-joined', 'read:items\u000cadmin'],
  ['with a trailing NUL', 'admin\u0000'],
  ['with a leading non-breaking space', '\u00a0admin'],
  ['with a zero-width space', 'admin\u200b'],
  ['with a Cyrillic а', 'аdmin'],
  ['in fullwidth letters', 'ａｄｍｉｎ'],
  ['with a dotless ı', 'admın'],
  ['with combining marks', 'a\u0301dmin'],
  ['in upper case', 'ADMIN'],
  ['capitalized', 'Admin'],
  ['quoted', '"admin"'],
  ['with a backslash', 'admin\\'],
  ['a wildcard', '*'],
  ['a prefix wildcard', 'adm*'],
  ['as an array with a NUL', ['admin\u0000']],
  ['as an array with a Cyrillic а', ['аdmin']],
  ['as a nested array', [['admin']]],
  ['as an array holding an object', [{ admin: true }]],
  ['as an object', { admin: true }],
  ['as a number', 1],
  ['as true', true],
]

describe.each(PROBE_ADAPTERS)('%s adapter: claims', (_name, startApi) => {
  let api: ProbeApi
  let strictApi: ProbeApi
  let maxAgeApi: ProbeApi
  let rolesApi: ProbeApi
  beforeAll(async () => {
    ;[api, strictApi, maxAgeApi, rolesApi] = await Promise.all([
      startApi(baseOptions()),
      startApi(baseOptions({ strict: true })),
      startApi(baseOptions({ maxTokenAge: 60 })),
      startApi(
        baseOptions({
          scopeClaim: (c) => (c['realm_access'] as { roles?: unknown } | undefined)?.roles,
        }),
      ),
    ])
  })
  afterAll(async () => {
    clockMs = T * 1000
    await Promise.all([api, strictApi, maxAgeApi, rolesApi].map((a) => a?.close()))
  })

  it.each(TIME_CASES.map((c) => [`${c[0]} (${c[1]})`, c] as const))(
    'time claims at the tolerance boundary: %s',
    async (_title, [, , tokenOf, expected]) => {
      const response = await send(`${api.url}/items`, { headers: [bearer(tokenOf())] })
      if (expected === 401) expectInvalidToken(response)
      else expect(response.status).toBe(200)
    },
  )

  it('time claims with a clock between two seconds (now + 0.999 s)', async () => {
    clockMs = T * 1000 + 999
    try {
      expect(await status(api, '/items', token({ exp: T - 4 }))).toBe(200)
      expect(await status(api, '/items', token({ exp: T - 5 }))).toBe(401)
      expect(await status(api, '/items', token({ nbf: T + 5 }))).toBe(200)
      expect(await status(api, '/items', token({ iat: T + 5 }))).toBe(200)
      expect(await status(api, '/items', token({ iat: T + 6 }))).toBe(401)
    } finally {
      clockMs = T * 1000
    }
  })

  it('clockTolerance 0: exp = now is expired, nbf = now is valid', async () => {
    const strictTime = await startApi(baseOptions({ clockTolerance: 0 }))
    try {
      expect(await status(strictTime, '/items', token({ exp: T }))).toBe(401)
      expect(await status(strictTime, '/items', token({ exp: T + 1 }))).toBe(200)
      expect(await status(strictTime, '/items', token({ nbf: T }))).toBe(200)
      expect(await status(strictTime, '/items', token({ nbf: T + 1 }))).toBe(401)
      expect(await status(strictTime, '/items', token({ iat: T + 1 }))).toBe(401)
    } finally {
      await strictTime.close()
    }
  })

  it('maxTokenAge 60 at its boundary (iat = now - 60 - tolerance is still accepted)', async () => {
    expect(await status(maxAgeApi, '/items', token({ iat: T - 64 }))).toBe(200)
    expect(await status(maxAgeApi, '/items', token({ iat: T - 65 }))).toBe(200)
    expect(await status(maxAgeApi, '/items', token({ iat: T - 66 }))).toBe(401)
    const { iat: _iat, ...noIat } = claims()
    expect(await status(maxAgeApi, '/items', kit.jwt(noIat))).toBe(401)
  })

  it('a cached token stops working exactly when verification would refuse it (exp + tolerance)', async () => {
    const cached = token({ exp: T + 10 })
    try {
      expect(await status(api, '/items', cached)).toBe(200)
      const before = api.stats()
      clockMs = (T + 15) * 1000 - 1
      expect(await status(api, '/items', cached)).toBe(200)
      expect(api.stats().cacheHits).toBe(before.cacheHits + 1)
      clockMs = (T + 15) * 1000
      expect(await status(api, '/items', cached)).toBe(401)
      expect(api.stats().cacheHits).toBe(before.cacheHits + 1)
    } finally {
      clockMs = T * 1000
    }
  })

  const refusals: [string, Case[], () => ProbeApi][] = [
    ['time claims of the wrong type or out of range', BAD_TIME_CASES, () => api],
    ['issuer near-misses', ISSUER_CASES, () => api],
    ['audience near-misses', AUDIENCE_CASES, () => api],
    ['ID tokens (non-strict)', ID_TOKEN_CASES, () => api],
    ['ID tokens (strict)', ID_TOKEN_CASES, () => strictApi],
    ['token types not accepted (non-strict)', TYPE_CASES, () => api],
    ['token types not accepted (strict)', TYPE_CASES, () => strictApi],
    [
      'untyped and JWT-typed tokens (strict)',
      [
        ['typ JWT', 'RFC 9068 §4', () => token({}, { typ: 'JWT' })],
        ['no typ', 'RFC 9068 §4', () => token({}, { typ: undefined })],
        ['typ jwt', 'RFC 9068 §4', () => token({}, { typ: 'jwt' })],
      ],
      () => strictApi,
    ],
  ]
  for (const [group, cases, target] of refusals) {
    it(`refuses ${group} with the one 401`, async () => {
      for (const [name, reference, tokenOf] of cases) {
        const response = await send(`${target().url}/items`, { headers: [bearer(tokenOf())] })
        expect.soft(response.status, `${name} (${reference})`).toBe(401)
        expectInvalidToken(response)
      }
    })
  }

  it('accepts what the RFCs allow next to those near-misses', async () => {
    const accepted: [string, ProbeApi, string][] = [
      ['aud array naming the audience among others', api, token({ aud: ['x', AUDIENCE, 'y'] })],
      ['aud array naming it twice', api, token({ aud: [AUDIENCE, AUDIENCE] })],
      ['at+jwt with a nonce (an access token may carry one)', api, token({ nonce: 'n' })],
      ['typ AT+JWT (strict)', strictApi, token({}, { typ: 'AT+JWT' })],
      ['typ application/at+jwt (strict)', strictApi, token({}, { typ: 'application/at+jwt' })],
      ['typ Application/AT+JWT (strict)', strictApi, token({}, { typ: 'Application/AT+JWT' })],
      ['typ JWT without ID-token members', api, token({}, { typ: 'JWT' })],
      ['no typ without ID-token members', api, token({}, { typ: undefined })],
    ]
    for (const [name, target, tokenText] of accepted) {
      expect.soft(await status(target, '/items', tokenText), name).toBe(200)
    }
  })

  it('prototype-pollution members reach no prototype and grant nothing (CWE-1321)', async () => {
    const before = snapshotPrototypes()
    for (const [name, members] of POLLUTION) {
      const tokenText = rawToken(members)
      const seen = await probe(api, tokenText)
      expect(seen, name).toMatchObject({
        scopes: ['read:items'],
        claimsPrototype: 'null',
        frozen: true,
        inherited: [],
        nestedWithPrototype: [],
        lookups: {
          admin: 'undefined',
          polluted: 'undefined',
          toString: 'undefined',
          constructor: 'undefined',
          hasOwnProperty: 'undefined',
          valueOf: 'undefined',
          ['__proto__']: 'undefined',
          prototype: 'undefined',
        },
      })
      expect(seen.claimKeys, name).not.toContain('__proto__')
      expect(seen.claimKeys, name).not.toContain('constructor')
      expect(seen.claimKeys, name).not.toContain('prototype')
      expect(await status(api, '/admin', tokenText), name).toBe(403)
      // A scope source that reads a nested claim finds no roles hidden in a prototype.
      expect(await status(rolesApi, '/items', tokenText), name).toBe(403)
    }
    expect(snapshotPrototypes()).toEqual(before)
    const probeObject = {} as Record<string, unknown>
    expect([probeObject['polluted'], probeObject['admin'], probeObject['scope']]).toEqual([
      undefined,
      undefined,
      undefined,
    ])
    // Control: the same scope source does read real roles.
    const roles = rawToken('"realm_access":{"roles":["read:items"]}')
    expect(await status(rolesApi, '/items', roles)).toBe(200)
  })

  it('duplicate JSON members: the last one wins, everywhere (RFC 8259 §4, RFC 7519 §4)', async () => {
    const adminLast = rawTokenAfter('"scope":"admin"')
    const adminFirst = rawTokenAfter('"scope":"read:items"', claims({ scope: 'admin' }))
    expect((await probe(api, adminLast)).scopes).toEqual(['admin'])
    expect(await status(api, '/admin', adminLast)).toBe(200)
    expect(await status(api, '/items', adminLast)).toBe(403)
    expect((await probe(api, adminFirst)).scopes).toEqual(['read:items'])
    expect(await status(api, '/admin', adminFirst)).toBe(403)
    expect(await status(api, '/items', adminFirst)).toBe(200)
    // scp never adds to scope, however often it is repeated.
    const scp = rawTokenAfter('"scp":"admin","scp":["admin"]')
    expect((await probe(api, scp)).scopes).toEqual(['read:items'])
    // Issuer: the last iss is the one checked, in the pre-verification lookup and in jose.
    const issLast = rawTokenAfter(`"iss":"https://evil.example","iss":"${ISSUER}"`)
    const issFirst = rawTokenAfter(`"iss":"${ISSUER}","iss":"https://evil.example"`)
    expect(await status(api, '/items', issLast)).toBe(200)
    expect(await status(api, '/items', issFirst)).toBe(401)
    // Header: the last alg is the one both the allowlist and the verifier see.
    const payload = JSON.stringify(claims())
    const algNoneLast = kit.raw('{"alg":"RS256","kid":"rsa-1","alg":"none"}', payload)
    const algRsLast = kit.raw('{"alg":"none","kid":"rsa-1","alg":"RS256"}', payload)
    expect(await status(api, '/items', algNoneLast)).toBe(401)
    expect(await status(api, '/items', algRsLast)).toBe(200)
  })

  it('scope strings with control characters, look-alikes or the wrong type never match', async () => {
    for (const [name, scope] of LOOKALIKE_SCOPES) {
      for (const claim of ['scope', 'scp']) {
        const base = claims()
        delete base['scope']
        const tokenText = kit.jwt({ ...base, [claim]: scope })
        // Printable-ASCII look-alikes are scope tokens of their own; the rest are dropped.
        const kept = typeof scope === 'string' && /^[\x21\x23-\x5B\x5D-\x7E]+$/.test(scope)
        expect
          .soft((await probe(api, tokenText)).scopes, `${claim} ${name}`)
          .toEqual(kept ? [scope] : [])
        expect.soft(await status(api, '/admin', tokenText), `${claim} ${name}`).toBe(403)
        expect.soft(await status(api, '/items', tokenText), `${claim} ${name}`).toBe(403)
      }
    }
  })

  it('the 403 challenge never reflects a scope of the token', async () => {
    const response = await send(`${api.url}/admin`, {
      headers: [bearer(token({ scope: 'read:items x"realm="evil' }))],
    })
    expectDenial(response, 403, CHALLENGES.insufficient('admin'))
  })
})

describe('core: claims that have no HTTP surface', () => {
  let guard: Guard
  const events: DecisionEvent[] = []
  const authenticate = (g: Guard, tokenText: string) =>
    g.authenticate({ method: 'GET', path: '/', headers: { authorization: `Bearer ${tokenText}` } })
  beforeAll(() => {
    guard = createGuard(
      baseOptions({
        maxTokenLength: 4_000_000,
        policy: {
          version: 1,
          scopes: { 'read:items': {}, admin: { implies: ['read:items'] } },
          routes: { 'GET /items': 'read:items', 'GET /admin': 'admin' },
        },
        onEvent: (event) => {
          if (event.type === 'decision') events.push(event)
        },
      }),
    )
  })
  afterAll(() => guard?.close())

  it('duplicate scope members: no path grants more than the last value (policy, requireScopes, records)', async () => {
    const tokenText = rawTokenAfter('"scope":"read:items"', claims({ scope: 'admin' }))
    const decision = await authenticate(guard, tokenText)
    if (!decision.allowed) throw new Error('expected the token to be accepted')
    const auth = decision.auth
    expect([...(auth?.scopes ?? [])]).toEqual(['read:items'])
    const route = (template: string) => ({ method: 'GET', template, params: {} })
    expect(guard.judgeRoute(auth, route('/items')).allowed).toBe(true)
    expect(guard.judgeRoute(auth, route('/admin')).status).toBe(403)
    expect(guard.authorize(auth, compileRequirement('admin')).status).toBe(403)
    expect(events.every((e) => !e.scopes.includes('admin'))).toBe(true)
  })

  it('10,000 scopes and 100,000-character scopes: matched exactly, quickly, never admin', async () => {
    const many = Array.from({ length: 10_000 }, (_, i) => `scope:${i}`)
    const started = performance.now()
    for (const scope of [many.join(' '), many, `${'a'.repeat(100_000)} read:items`]) {
      const claim = Array.isArray(scope) ? 'scp' : 'scope'
      const base = claims()
      delete base['scope']
      const decision = await authenticate(guard, kit.jwt({ ...base, [claim]: scope }))
      if (!decision.allowed) throw new Error('expected the token to be accepted')
      const auth = decision.auth
      expect(guard.authorize(auth, compileRequirement('admin')).status).toBe(403)
      expect(guard.judgeRoute(auth, { method: 'GET', template: '/admin', params: {} }).status).toBe(
        403,
      )
      if (Array.isArray(scope)) {
        expect(auth?.scopes.size).toBe(10_000)
        expect(guard.authorize(auth, compileRequirement('scope:9999 scope:0')).allowed).toBe(true)
      }
    }
    expect(performance.now() - started).toBeLessThan(5000)
  })

  it('deeply nested claims are cut, not recursed into without bound', async () => {
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`
    const decision = await authenticate(guard, rawTokenAfter(`"deep":${deep}`))
    expect(decision.allowed).toBe(true)
  })

  // Regression (fixed; was a bug in packages/core/src/create-guard.ts, toAuthInfo(), `time`): a numeric `exp` or `iat`
  // beyond the Date range (|t| > 8.64e12 s, e.g. 1e20, or 1e400 which JSON.parse makes
  // Infinity) passes jose's checks and becomes `new Date(NaN)`: auth.token.expiresAt is an
  // Invalid Date (handlers calling toISOString() throw RangeError → 500), and cacheUntil()
  // computes NaN, so such a token is never served from cache (each request verifies again).
  // Fix: treat a time claim outside Number.isFinite / the Date range as `claim_invalid`
  // (refuse the token), or leave expiresAt undefined.
  it('an exp beyond the Date range is refused or yields a valid expiresAt (RFC 7519 §2)', async () => {
    for (const exp of ['1e20', '1e400']) {
      const decision = await authenticate(guard, rawTokenAfter(`"exp":${exp}`))
      if (decision.allowed) {
        const expiresAt = decision.auth?.token.expiresAt
        expect(expiresAt === undefined || Number.isFinite(expiresAt.getTime()), exp).toBe(true)
      } else {
        expect(decision.status).toBe(401)
      }
    }
  })
})

// VULNERABILITY (sender-constraint downgrade; packages/core/src/verify/verify-jwt.ts and
// packages/core/src/verify/introspect-token.ts check no `cnf`): a token bound to a key
// (RFC 7800 `cnf`: DPoP `jkt`, RFC 9449 §6; mTLS `x5t#S256`, RFC 8705 §3) is accepted as a
// plain bearer token, so a stolen DPoP- or mTLS-bound token works without the key it is bound
// to, which is the theft the binding exists to stop (RFC 9449 §7.2 requires a resource that
// accepts Bearer to "reject a DPoP-bound access token received as a bearer token"). Fixed:
// the guard refuses any `cnf` token presented as a bearer token (rejection `key_bound`); a
// DPoP-bound one passes only with `Authorization: DPoP` and a valid proof
// (test/integration/dpop.test.ts).
describe.each(PROBE_ADAPTERS)('%s adapter: sender-constrained tokens (cnf)', (_name, startApi) => {
  let api: ProbeApi
  let introspecting: ProbeApi
  let authz: FakeAuthz
  beforeAll(async () => {
    authz = await startFakeAuthz({ keys: [] })
    api = await startApi(baseOptions())
    introspecting = await startApi({
      issuer: authz.issuer,
      audience: AUDIENCE,
      realm: REALM,
      introspection: { clientId: 'api', clientSecret: 'secret', endpoint: authz.introspectionUri },
    })
  })
  afterAll(async () => {
    await Promise.all([api?.close(), introspecting?.close()])
    await authz?.close()
  })

  const CNF: [string, Record<string, unknown>][] = [
    ['DPoP-bound (cnf.jkt, RFC 9449 §6.1)', { jkt: '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I' }],
    [
      'mTLS-bound (cnf.x5t#S256, RFC 8705 §3.1)',
      { 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' },
    ],
  ]

  it('controls: the same tokens without cnf are accepted', async () => {
    expect(await status(api, '/items', token())).toBe(200)
    authz.on('/introspect', reply.json({ active: true, aud: AUDIENCE, scope: 'read:items' }))
    expect(await status(introspecting, '/items', 'opaque-unbound-token')).toBe(200)
  })

  it.each(CNF)('a %s JWT presented as a bearer token is refused', async (_what, cnf) => {
    expectInvalidToken(await send(`${api.url}/items`, { headers: [bearer(token({ cnf }))] }))
  })

  it.each(CNF)(
    'a %s introspected token presented as a bearer token is refused',
    async (what, cnf) => {
      authz.on('/introspect', reply.json({ active: true, aud: AUDIENCE, scope: 'read:items', cnf }))
      const response = await send(`${introspecting.url}/items`, {
        headers: [bearer(`opaque-bound-token-${what.length}`)],
      })
      expectInvalidToken(response)
    },
  )
})
