/**
 * Attack class: signature and algorithm. Forged tokens built from real tokens of the local
 * authorization server (examples/authz-server: RS256 and ES256 keys, discovery, JWKS), sent
 * to the items API on Express 5 and on Koa 3 over real HTTP. Every forgery must get the one
 * fixed 401 `invalid_token` answer, byte-identical whatever the reason; embedded keys and key
 * URLs must never make scopeguard connect anywhere but the issuer's own metadata and JWKS.
 */
import { createHmac, createPublicKey, type KeyObject } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeJwt, decodeProtectedHeader, type JWK } from 'jose'
import {
  DEMO_CLIENTS,
  ITEMS_API,
  RESOURCE_SERVER,
  generateSigningKeys,
  startAuthzServer,
  type AuthzServer,
} from '@scopeguard-examples/authz-server'
import type { ScopeguardOptions } from '@scopeguard/core'
import { ADAPTERS, type TestApi } from '../support/apps.js'
import { bearer, send } from '../support/http.js'
import { expectInvalidToken } from './support/expect-denial.js'
import { startTrap, type Trap } from './support/servers.js'
import { b64url, keyFromJwk, REALM, signInput, type Signer } from './support/signing.js'

interface Fixture {
  authz: AuthzServer
  trap: Trap
  rsaPrivate: KeyObject
  ecPrivate: KeyObject
  attackerRsa: KeyObject
  attackerEc: KeyObject
  attackerJwk: JWK
  published: { keys: JWK[] }
  reader: string
  esReader: string
}

let f: Fixture

beforeAll(async () => {
  const keys = await generateSigningKeys()
  const authz = await startAuthzServer({ keys })
  const attacker = await generateSigningKeys()
  const [rsaJwk, ecJwk] = keys.keys as [JWK, JWK]
  const [attackerRsaJwk, attackerEcJwk] = attacker.keys as [JWK, JWK]
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...attackerPublic } = attackerRsaJwk
  // The attacker serves its own key set at the jku/x5u target, to make it as tempting as can be.
  const trap = await startTrap({ keys: [{ ...attackerPublic, kid: rsaJwk.kid }] })
  const published = (await (await fetch(authz.jwksUri)).json()) as { keys: JWK[] }
  f = {
    authz,
    trap,
    rsaPrivate: keyFromJwk(rsaJwk),
    ecPrivate: keyFromJwk(ecJwk),
    attackerRsa: keyFromJwk(attackerRsaJwk),
    attackerEc: keyFromJwk(attackerEcJwk),
    attackerJwk: attackerPublic,
    published,
    reader: await authz.token(DEMO_CLIENTS.reader),
    esReader: await authz.token(DEMO_CLIENTS.esReader),
  }
})
afterAll(async () => {
  await Promise.all([f?.authz.stop(), f?.trap.close()])
})

const rsaKid = (): string => decodeProtectedHeader(f.reader).kid as string
const ecKid = (): string => decodeProtectedHeader(f.esReader).kid as string
const payloadOf = (token: string): string => token.split('.')[1] ?? ''

/** The token's payload under a new header, signed as `signer` with `key` (or not at all). */
function reheader(
  token: string,
  header: Record<string, unknown>,
  sign: { signer: Signer; key: KeyObject } | { signature: string },
): string {
  const input = `${b64url(JSON.stringify(header))}.${payloadOf(token)}`
  const signature = 'signature' in sign ? sign.signature : signInput(input, sign.signer, sign.key)
  return `${input}.${signature}`
}

/** HMAC over the token's payload with `alg` and the given secret (the algorithm confusion attack). */
function hmacForgery(token: string, alg: 'HS256' | 'HS384' | 'HS512', secret: Buffer | string) {
  const header = { ...decodeProtectedHeader(token), alg }
  const input = `${b64url(JSON.stringify(header))}.${payloadOf(token)}`
  const hash = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }[alg]
  return `${input}.${createHmac(hash, secret).update(input).digest('base64url')}`
}

/** Every letter case of `none` (RFC 7518 §3.6 names it in lower case; CVE-2015-9235 used others). */
const NONE_VARIANTS = Array.from({ length: 16 }, (_, mask) =>
  [...'none'].map((c, i) => (mask & (1 << i) ? c.toUpperCase() : c)).join(''),
)

/** The issuer's public key in every encoding an HMAC "secret" could be confused with. */
function publicKeyEncodings(): [string, Buffer | string][] {
  const rsaPublic = f.published.keys.find((k) => k.kty === 'RSA') as JWK
  const ecPublic = f.published.keys.find((k) => k.kty === 'EC') as JWK
  const rsa = createPublicKey({ key: rsaPublic as never, format: 'jwk' })
  const ec = createPublicKey({ key: ecPublic as never, format: 'jwk' })
  const spkiPem = rsa.export({ type: 'spki', format: 'pem' }) as string
  const spkiDer = rsa.export({ type: 'spki', format: 'der' })
  return [
    ['RSA SPKI PEM', spkiPem],
    ['RSA SPKI PEM without the final newline', spkiPem.trimEnd()],
    ['RSA SPKI PEM with CRLF line ends', spkiPem.replace(/\n/g, '\r\n')],
    ['RSA PKCS#1 PEM', rsa.export({ type: 'pkcs1', format: 'pem' }) as string],
    ['RSA SPKI DER', spkiDer],
    ['RSA PKCS#1 DER', rsa.export({ type: 'pkcs1', format: 'der' })],
    ['RSA JWK JSON as published', JSON.stringify(rsaPublic)],
    ['the whole JWK Set JSON', JSON.stringify(f.published)],
    ['RSA raw modulus bytes', Buffer.from(rsaPublic.n as string, 'base64url')],
    ['RSA modulus as its base64url text (JWK "n")', rsaPublic.n as string],
    ['x5c-like base64 of the SPKI DER', spkiDer.toString('base64')],
    ['EC SPKI PEM', ec.export({ type: 'spki', format: 'pem' }) as string],
    [
      'EC raw uncompressed point',
      Buffer.concat([
        Buffer.from([4]),
        Buffer.from(ecPublic.x as string, 'base64url'),
        Buffer.from(ecPublic.y as string, 'base64url'),
      ]),
    ],
    ['EC JWK JSON as published', JSON.stringify(ecPublic)],
  ]
}

type Case = [name: string, reference: string, token: () => string]

const algNoneCases = (): Case[] => [
  ...NONE_VARIANTS.map((alg): Case => [
    `alg "${alg}", empty signature`,
    'RFC 8725 §3.1, RFC 7518 §3.6, CVE-2015-9235',
    () => reheader(f.reader, { ...decodeProtectedHeader(f.reader), alg }, { signature: '' }),
  ]),
  [
    'alg "none" keeping the original signature',
    'RFC 8725 §3.1, CVE-2015-9235',
    () =>
      reheader(
        f.reader,
        { ...decodeProtectedHeader(f.reader), alg: 'none' },
        { signature: f.reader.split('.')[2] ?? '' },
      ),
  ],
  [
    'alg "none" with typ JWT and no kid',
    'RFC 8725 §3.1',
    () => reheader(f.reader, { alg: 'none', typ: 'JWT' }, { signature: '' }),
  ],
]

const hmacCases = (): Case[] =>
  (['HS256', 'HS384', 'HS512'] as const).flatMap((alg) =>
    publicKeyEncodings().map(([encoding, secret]): Case => {
      const token = encoding.startsWith('EC') ? () => f.esReader : () => f.reader
      return [
        `${alg} "signed" with the issuer's public key: ${encoding}`,
        'RFC 8725 §2.1 and §3.1, CVE-2016-10555, CVE-2015-9235',
        () => hmacForgery(token(), alg, secret),
      ]
    }),
  )

const mismatchCases = (): Case[] => [
  [
    'RS256 header with the EC key id, ES256 signature by the issuer',
    'RFC 8725 §3.1 (each key used with exactly one algorithm)',
    () =>
      reheader(
        f.esReader,
        { alg: 'RS256', typ: 'at+jwt', kid: ecKid() },
        { signer: 'ES256', key: f.ecPrivate },
      ),
  ],
  [
    'ES256 header with the RSA key id, RS256 signature by the issuer',
    'RFC 8725 §3.1',
    () =>
      reheader(
        f.reader,
        { alg: 'ES256', typ: 'at+jwt', kid: rsaKid() },
        { signer: 'RS256', key: f.rsaPrivate },
      ),
  ],
  [
    'PS256 header over an RS256 (PKCS#1 v1.5) signature by the issuer',
    'RFC 8725 §3.1, RFC 7518 §3.5',
    () =>
      reheader(
        f.reader,
        { alg: 'PS256', typ: 'at+jwt', kid: rsaKid() },
        { signer: 'RS256', key: f.rsaPrivate },
      ),
  ],
  [
    'RS256 header over a PS256 (PSS) signature by the issuer',
    'RFC 8725 §3.1',
    () =>
      reheader(
        f.reader,
        { alg: 'RS256', typ: 'at+jwt', kid: rsaKid() },
        { signer: 'PS256', key: f.rsaPrivate },
      ),
  ],
  [
    'PS256 header and a PSS signature with the RS256-only key',
    'RFC 7517 §4.4 ("alg" of the JWK), RFC 8725 §3.1',
    () =>
      reheader(
        f.reader,
        { alg: 'PS256', typ: 'at+jwt', kid: rsaKid() },
        { signer: 'PS256', key: f.rsaPrivate },
      ),
  ],
  [
    'RS384 header over an RS384 signature with the RS256-only key',
    'RFC 7517 §4.4, RFC 8725 §3.1',
    () =>
      reheader(
        f.reader,
        { alg: 'RS384', typ: 'at+jwt', kid: rsaKid() },
        { signer: 'RS384', key: f.rsaPrivate },
      ),
  ],
  [
    'ES384 header on the P-256 key',
    'RFC 7518 §3.4',
    () =>
      reheader(
        f.esReader,
        { alg: 'ES384', typ: 'at+jwt', kid: ecKid() },
        { signer: 'ES256', key: f.ecPrivate },
      ),
  ],
  [
    'EdDSA header with the RSA key id',
    'RFC 8037 §3.1, RFC 8725 §3.1',
    () =>
      reheader(
        f.reader,
        { alg: 'EdDSA', typ: 'at+jwt', kid: rsaKid() },
        { signer: 'RS256', key: f.rsaPrivate },
      ),
  ],
  ...(
    [
      ['"rs256" (algorithm names are case-sensitive)', 'rs256'],
      ['"RS256 " with a trailing space', 'RS256 '],
      ['["RS256"] (an array)', ['RS256']],
      ['null', null],
    ] as [string, unknown][]
  ).map(([label, alg]): Case => [
    `alg ${label} over a real RS256 signature`,
    'RFC 7515 §4.1.1',
    () =>
      reheader(
        f.reader,
        { alg, typ: 'at+jwt', kid: rsaKid() },
        { signer: 'RS256', key: f.rsaPrivate },
      ),
  ]),
  [
    'no alg at all over a real RS256 signature',
    'RFC 7515 §4.1.1 (alg is required)',
    () =>
      reheader(f.reader, { typ: 'at+jwt', kid: rsaKid() }, { signer: 'RS256', key: f.rsaPrivate }),
  ],
  [
    'ES256 signature of all zeros ("psychic signature")',
    'CVE-2022-21449',
    () =>
      reheader(f.esReader, decodeProtectedHeader(f.esReader), {
        signature: Buffer.alloc(64).toString('base64url'),
      }),
  ],
  [
    'RS256 signature of all zeros',
    'RFC 8017 §8.2.2',
    () =>
      reheader(f.reader, decodeProtectedHeader(f.reader), {
        signature: Buffer.alloc(256).toString('base64url'),
      }),
  ],
  [
    'RS256 header with an empty signature',
    'RFC 7515 §5.2',
    () => reheader(f.reader, decodeProtectedHeader(f.reader), { signature: '' }),
  ],
]

const embeddedKeyCases = (): Case[] => {
  const attackerSigned = (header: Record<string, unknown>) =>
    reheader(
      f.reader,
      { alg: 'RS256', typ: 'at+jwt', ...header },
      {
        signer: 'RS256',
        key: f.attackerRsa,
      },
    )
  const x5c = [
    createPublicKey({ key: f.attackerJwk as never, format: 'jwk' })
      .export({ type: 'spki', format: 'der' })
      .toString('base64'),
  ]
  return [
    [
      'embedded jwk (the attacker public key), no kid',
      'RFC 8725 §3.10, CVE-2018-0114',
      () => attackerSigned({ jwk: f.attackerJwk }),
    ],
    [
      'embedded jwk with the kid of the issuer key',
      'RFC 8725 §3.10, CVE-2018-0114',
      () => attackerSigned({ jwk: { ...f.attackerJwk, kid: rsaKid() }, kid: rsaKid() }),
    ],
    [
      'jku pointing at the attacker key set, issuer kid',
      'RFC 7515 §4.1.2, RFC 8725 §3.10',
      () => attackerSigned({ jku: `${f.trap.origin}/jwks.json`, kid: rsaKid() }),
    ],
    [
      'jku with an unknown kid (a refetch is due)',
      'RFC 7515 §4.1.2, RFC 8725 §3.10',
      () => attackerSigned({ jku: `${f.trap.origin}/jwks.json`, kid: 'attacker-key' }),
    ],
    [
      'x5u pointing at the attacker, unknown kid',
      'RFC 7515 §4.1.5, RFC 8725 §3.10',
      () => attackerSigned({ x5u: `${f.trap.origin}/cert.pem`, kid: 'attacker-cert' }),
    ],
    ['x5c with the attacker key', 'RFC 7515 §4.1.6', () => attackerSigned({ x5c })],
    [
      'x5t and x5t#S256 thumbprints',
      'RFC 7515 §4.1.7-8',
      () => attackerSigned({ x5t: 'AAAA', 'x5t#S256': 'AAAA', kid: rsaKid() }),
    ],
    [
      'jwk, jku, x5u and x5c at once',
      'RFC 8725 §3.10',
      () =>
        attackerSigned({
          jwk: f.attackerJwk,
          jku: `${f.trap.origin}/jwks.json`,
          x5u: `${f.trap.origin}/cert.pem`,
          x5c,
        }),
    ],
    ...(
      [
        ['a path traversal', '../../../../../../dev/null'],
        ['SQL', "' OR '1'='1"],
        ['a URL', `${f.trap.origin}/key`],
        ['an object', { $ne: null }],
        ['4,000 characters', 'k'.repeat(4000)],
      ] as [string, unknown][]
    ).map(([label, kid]): Case => [
      `kid that is ${label}`,
      'RFC 8725 §3.10',
      () => attackerSigned({ kid }),
    ]),
  ]
}

const critCases = (): Case[] => {
  const signed = (header: Record<string, unknown>) =>
    reheader(
      f.reader,
      { ...decodeProtectedHeader(f.reader), ...header },
      {
        signer: 'RS256',
        key: f.rsaPrivate,
      },
    )
  return [
    [
      'crit naming an unknown extension (signed by the issuer)',
      'RFC 7515 §4.1.11',
      () => signed({ crit: ['x-unknown'], 'x-unknown': true }),
    ],
    ['crit naming a claim', 'RFC 7515 §4.1.11', () => signed({ crit: ['exp'] })],
    ['crit naming a registered header (alg)', 'RFC 7515 §4.1.11', () => signed({ crit: ['alg'] })],
    ['crit as an empty list', 'RFC 7515 §4.1.11', () => signed({ crit: [] })],
    ['crit as a string', 'RFC 7515 §4.1.11', () => signed({ crit: 'x-unknown' })],
    [
      'b64: false in crit, payload base64url-encoded anyway',
      'RFC 7797 §3, §6; RFC 9068 (JWT payloads are always encoded)',
      () => signed({ b64: false, crit: ['b64'] }),
    ],
    [
      'b64: false in crit, signature over the raw payload',
      'RFC 7797 §5',
      () => {
        const header = { ...decodeProtectedHeader(f.reader), b64: false, crit: ['b64'] }
        const protectedHeader = b64url(JSON.stringify(header))
        const raw = Buffer.from(payloadOf(f.reader), 'base64url').toString()
        const signature = signInput(`${protectedHeader}.${raw}`, 'RS256', f.rsaPrivate)
        return `${protectedHeader}.${payloadOf(f.reader)}.${signature}`
      },
    ],
  ]
}

const formatCases = (): Case[] => {
  const h = () => f.reader.split('.')[0] ?? ''
  const p = () => payloadOf(f.reader)
  const s = () => f.reader.split('.')[2] ?? ''
  const signedPayload = (payloadText: string) => {
    const input = `${h()}.${b64url(payloadText)}`
    return `${input}.${signInput(input, 'RS256', f.rsaPrivate)}`
  }
  const signedHeader = (headerText: string) => {
    const input = `${b64url(headerText)}.${p()}`
    return `${input}.${signInput(input, 'RS256', f.rsaPrivate)}`
  }
  return [
    [
      'JWE compact serialization (5 segments)',
      'RFC 7516 §7.1, RFC 9068 §4',
      () =>
        [
          b64url('{"alg":"RSA-OAEP-256","enc":"A256GCM","typ":"at+jwt"}'),
          b64url('k'.repeat(256)),
          b64url('iv-iv-iv-iv'),
          p(),
          b64url('tag-tag-tag-tag'),
        ].join('.'),
    ],
    [
      'JWE with "dir" and an empty key segment',
      'RFC 7516 §7.1',
      () => `${b64url('{"alg":"dir","enc":"A128GCM"}')}..${b64url('iv')}.${p()}.${b64url('tag')}`,
    ],
    [
      'JWS JSON serialization as the credentials',
      'RFC 7515 §7.2, RFC 6750 §2.1 (b64token)',
      () => JSON.stringify({ payload: p(), protected: h(), signature: s() }),
    ],
    [
      'JWS JSON serialization, base64url-encoded into one segment',
      'RFC 7515 §7.2',
      () => b64url(JSON.stringify({ payload: p(), protected: h(), signature: s() })),
    ],
    ['one segment', 'RFC 7515 §7.1', () => h()],
    ['two segments', 'RFC 7515 §7.1', () => `${h()}.${p()}`],
    ['two segments and a trailing dot', 'RFC 7515 §7.1', () => `${h()}.${p()}.`],
    ['four segments', 'RFC 7515 §7.1', () => `${f.reader}.${s()}`],
    ['six segments', 'RFC 7515 §7.1', () => `${f.reader}.${h()}.${p()}`],
    ['empty header and payload', 'RFC 7515 §7.1', () => `..${s()}`],
    ['empty payload', 'RFC 7515 §7.1', () => `${h()}..${s()}`],
    ['only dots', 'RFC 7515 §7.1', () => '....'],
    [
      'payload in standard base64 (+ and /)',
      'RFC 7515 §2 (base64url)',
      () => `${h()}.${Buffer.from(decodeJwtText()).toString('base64').replace(/=+$/, '')}+/.${s()}`,
    ],
    ['padded segments', 'RFC 7515 §2 (no padding)', () => `${h()}=.${p()}=.${s()}`],
    ['header of impossible base64url length (4n+1)', 'RFC 4648 §5', () => `${h()}A.${p()}.${s()}`],
    ['header that is not JSON', 'RFC 7515 §5.2', () => `${b64url('not json')}.${p()}.${s()}`],
    ['header that is a JSON array (signed)', 'RFC 7515 §4', () => signedHeader('["RS256"]')],
    ['header that is JSON null (signed)', 'RFC 7515 §4', () => signedHeader('null')],
    ['header that is a JSON string (signed)', 'RFC 7515 §4', () => signedHeader('"RS256"')],
    [
      'header bytes that are not UTF-8',
      'RFC 7515 §5.2',
      () => `${Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('base64url')}.${p()}.${s()}`,
    ],
    ['payload that is not JSON (signed)', 'RFC 7519 §7.2', () => signedPayload('not json')],
    ['payload that is a JSON array (signed)', 'RFC 7519 §7.2', () => signedPayload('[]')],
    ['payload that is JSON null (signed)', 'RFC 7519 §7.2', () => signedPayload('null')],
    ['payload that is a JSON number (signed)', 'RFC 7519 §7.2', () => signedPayload('42')],
    ['payload with NaN (signed)', 'RFC 8259 §6', () => signedPayload('{"exp":NaN}')],
    ['signature with a character appended', 'RFC 7515 §5.2', () => `${f.reader}A`],
    ['signature cut by four characters', 'RFC 7515 §5.2', () => f.reader.slice(0, -4)],
  ]
}

function decodeJwtText(): string {
  return JSON.stringify(decodeJwt(f.reader))
}

const RESOURCE_INTROSPECTION = {
  clientId: RESOURCE_SERVER.clientId,
  clientSecret: RESOURCE_SERVER.clientSecret,
}

/**
 * Tokens that scopeguard does not take for a compact JWS (so they go to introspection) and
 * that oidc-provider's introspection endpoint answers with an error, 400
 * `unsupported_token_type` ("Structured JWT Tokens cannot be introspected"), instead of
 * `active: false`: their first segment decodes to a JOSE header.
 */
const AS_REFUSED = new Set([
  'JWE compact serialization (5 segments)',
  'JWE with "dir" and an empty key segment',
  'six segments',
  'empty payload',
  'payload in standard base64 (+ and /)',
])

const CASE_GROUPS: [string, () => Case[]][] = [
  ['alg none', algNoneCases],
  ['HMAC with the public key', hmacCases],
  ['header alg that does not match the key', mismatchCases],
  ['embedded keys and key URLs', embeddedKeyCases],
  ['crit and b64', critCases],
  ['serializations and malformed segments', formatCases],
]

describe.each(ADAPTERS)('%s adapter: signature and algorithm', (_name, startApi) => {
  let api: TestApi
  let hmacApi: TestApi
  let introApi: TestApi
  const fetched: string[] = []
  const options = (extra: Partial<ScopeguardOptions> = {}): ScopeguardOptions => ({
    issuer: f.authz.issuer,
    audience: ITEMS_API,
    realm: REALM,
    fetch: (input, init) => {
      fetched.push(String(input))
      return fetch(input, init)
    },
    ...extra,
  })
  const secret = 'the-shared-hmac-secret-of-the-items-api-32+'
  beforeAll(async () => {
    api = await startApi(options())
    // HMAC switched on, with its own secret: a public key "secret" must still fail.
    hmacApi = await startApi(
      options({ secret, algorithms: ['RS256', 'ES256', 'HS256', 'HS384', 'HS512'] }),
    )
    // Introspection on: every token that is not a compact JWS goes to the authorization server.
    introApi = await startApi(options({ introspection: RESOURCE_INTROSPECTION }))
  })
  afterAll(async () => {
    await Promise.all([api?.close(), hmacApi?.close(), introApi?.close()])
  })

  it('accepts the real tokens, and a re-signed copy (controls for the forgeries below)', async () => {
    const resigned = reheader(f.reader, decodeProtectedHeader(f.reader), {
      signer: 'RS256',
      key: f.rsaPrivate,
    })
    for (const token of [f.reader, f.esReader, resigned]) {
      expect((await send(`${api.url}/items`, { headers: [bearer(token)] })).status).toBe(200)
    }
    // With HMAC on, a token signed with the real secret passes: the forgeries reach the HMAC check.
    const hmacToken = hmacForgery(f.reader, 'HS256', secret)
    expect((await send(`${hmacApi.url}/items`, { headers: [bearer(hmacToken)] })).status).toBe(200)
  })

  for (const [group, cases] of CASE_GROUPS) {
    it(`refuses every forgery: ${group}, with the same 401`, async () => {
      const all = cases()
      expect(all.length).toBeGreaterThan(0)
      const first = await send(`${api.url}/items`, { headers: [bearer(f.reader.slice(0, -2))] })
      for (const [name, reference, token] of all) {
        const targets = AS_REFUSED.has(name) ? [api, hmacApi] : [api, hmacApi, introApi]
        for (const target of targets) {
          const response = await send(`${target.url}/items`, { headers: [bearer(token())] })
          expect.soft(response.status, `${name} (${reference})`).toBe(401)
          expectInvalidToken(response)
          if (target === api) expect(response.rawHeaders, name).toEqual(first.rawHeaders)
        }
      }
    })
  }

  // Regression (fixed; was a bug in packages/core/src/verify/introspect-token.ts, introspectToken): every error answer of
  // the introspection endpoint becomes VerifierUnavailableError (503), including errors about
  // the token itself. oidc-provider answers a JWE-shaped token (its first segment decodes to a
  // JOSE header) with 400 `unsupported_token_type`, so any client can make the API answer 503
  // at will, uncached, one introspection request each (5xx rates drive load-balancer outlier
  // ejection and paging). The token is not a valid access token: 401 is the answer.
  it('JWE-shaped and other JOSE-headed non-JWS tokens with introspection on: 401, not 503 (RFC 7516 §7.1, RFC 7662 §2.2)', async () => {
    const statuses: Record<string, number> = {}
    for (const [name, , token] of formatCases().filter(([n]) => AS_REFUSED.has(n))) {
      statuses[name] = (await send(`${introApi.url}/items`, { headers: [bearer(token())] })).status
    }
    expect(Object.keys(statuses)).toHaveLength(AS_REFUSED.size)
    expect(statuses).toEqual(Object.fromEntries([...AS_REFUSED].map((name) => [name, 401])))
  })

  it('refuses the forgeries in the query string too (RFC 6750 §2.3 off: no token at all)', async () => {
    for (const [, , token] of algNoneCases().slice(0, 3)) {
      const response = await send(`${api.url}/items?access_token=${encodeURIComponent(token())}`)
      expect(response.status).toBe(401)
    }
  })

  it('never connects to a jku, x5u or kid URL: only the issuer metadata and its JWKS are fetched', async () => {
    for (const [, , token] of embeddedKeyCases()) {
      await send(`${api.url}/items`, { headers: [bearer(token())] })
    }
    expect(f.trap.requests).toEqual([])
    expect(fetched.length).toBeGreaterThan(0)
    for (const url of fetched) expect(url.startsWith(`${f.authz.issuer}/`), url).toBe(true)
    expect(fetched.some((url) => url.includes(String(f.trap.port)))).toBe(false)
  })

  it('unknown kids cannot make it refetch the key set on demand (one refetch per cooldown)', async () => {
    const fresh = await startApi(options())
    try {
      expect((await send(`${fresh.url}/items`, { headers: [bearer(f.reader)] })).status).toBe(200)
      const before = fresh.stats().keyFetches
      const forged = Array.from({ length: 60 }, (_, i) =>
        reheader(
          f.reader,
          { alg: 'RS256', typ: 'at+jwt', kid: `unknown-${i}` },
          { signer: 'RS256', key: f.attackerRsa },
        ),
      )
      const statuses = await Promise.all(
        forged.map(
          async (t) => (await send(`${fresh.url}/items`, { headers: [bearer(t)] })).status,
        ),
      )
      expect(new Set(statuses)).toEqual(new Set([401]))
      expect(fresh.stats().keyFetches - before).toBeLessThanOrEqual(1)
    } finally {
      await fresh.close()
    }
  })
})

describe.each(ADAPTERS)(
  '%s adapter: keys of one issuer never verify another',
  (_name, startApi) => {
    let other: AuthzServer
    let api: TestApi
    let otherWriter: string
    beforeAll(async () => {
      other = await startAuthzServer()
      otherWriter = await other.token(DEMO_CLIENTS.writer)
      api = await startApi({
        issuer: [f.authz.issuer, other.issuer],
        audience: ITEMS_API,
        realm: REALM,
      })
    })
    afterAll(async () => {
      await api?.close()
      await other?.stop()
    })

    it("accepts each issuer with its own keys (control), refuses a token naming one issuer signed with the other's key", async () => {
      for (const token of [f.reader, otherWriter]) {
        expect((await send(`${api.url}/items`, { headers: [bearer(token)] })).status).toBe(200)
      }
      // iss of the second issuer, kid and signature of the first issuer's real key.
      const claims = { ...decodeJwt(f.reader), iss: other.issuer }
      const input = `${b64url(JSON.stringify(decodeProtectedHeader(f.reader)))}.${b64url(JSON.stringify(claims))}`
      const crossSigned = `${input}.${signInput(input, 'RS256', f.rsaPrivate)}`
      // The same claims without the kid: a key is still chosen among the named issuer's keys only.
      const { kid: _kid, ...noKid } = decodeProtectedHeader(f.reader)
      const input2 = `${b64url(JSON.stringify(noKid))}.${b64url(JSON.stringify(claims))}`
      const crossNoKid = `${input2}.${signInput(input2, 'RS256', f.rsaPrivate)}`
      for (const token of [crossSigned, crossNoKid]) {
        expectInvalidToken(await send(`${api.url}/items`, { headers: [bearer(token)] }))
      }
    })
  },
)
