/**
 * Property-based fuzzing (fast-check, fixed seeds, bounded runs). Random Authorization
 * headers and random tokens — unsigned, mis-signed, and validly signed over random claims —
 * never make scopeguard throw or answer anything but 400, 401 or 503 (core and both adapters
 * over HTTP). Random requirement expressions compile or throw ScopeguardConfigError, never
 * another error, and compiled requirements agree with a reference evaluator. Random scope
 * claims never satisfy a requirement the RFC 6749 §3.3 reading of them does not. Random small
 * policy documents load or throw PolicyValidationError with positioned problems.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  compileRequirement,
  createGuard,
  createPolicySource,
  loadPolicyDocument,
  PolicyValidationError,
  readScopes,
  satisfies,
  ScopeguardConfigError,
  type Decision,
  type Guard,
  type PolicyDocument,
} from '@scopeguard/core'
import { ADAPTERS, type TestApi } from '../support/apps.js'
import { send } from '../support/http.js'
import { AUDIENCE, b64url, CHALLENGES, createSigningKit, ISSUER, REALM } from './support/signing.js'

const kit = createSigningKit()
const SEED = 20_250_611
const run = (numRuns: number, seed = SEED) => ({ numRuns, seed, endOnFailure: true })
const NOW = Math.floor(Date.now() / 1000)

const DENIAL_CHALLENGES = new Set<string | undefined>([
  CHALLENGES.missing,
  CHALLENGES.invalidRequest,
  CHALLENGES.invalidToken,
])

/** Every property a refused request must have, whatever was sent. */
function checkDenial(decision: Decision): void {
  expect(decision.allowed).toBe(false)
  if (decision.allowed) return
  expect([400, 401, 503]).toContain(decision.status)
  if (decision.status === 503) expect(decision.headers['retry-after']).toBe('5')
  else expect(DENIAL_CHALLENGES.has(decision.headers['www-authenticate'])).toBe(true)
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

const B64URL_CHARS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_']
const b64urlText = fc.string({ unit: fc.constantFrom(...B64URL_CHARS), maxLength: 80 })

/** Characters Node's HTTP client lets into a header value (HTAB, SP, VCHAR, obs-text). */
const headerChar = fc.oneof(
  fc.constantFrom('\t', ' ', '.', '=', '"', ',', '\\', '~', '+', '/', '-', '_', '\u00a0', '\u00e9'),
  fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)),
)
const headerText = fc.string({ unit: headerChar, maxLength: 200 })

const schemes = fc.constantFrom(
  'Bearer',
  'bearer',
  'BEARER',
  'Basic',
  'DPoP',
  'Bearer,',
  '',
  'Bearerx',
)
const separators = fc.constantFrom(' ', '  ', '\t', '', ',', '=', ' \t ')

/** Authorization header values: a scheme, a separator and credentials of many shapes. */
const authorizationValue = fc.oneof(
  headerText,
  fc.tuple(schemes, separators, headerText).map(([s, sep, c]) => `${s}${sep}${c}`),
  fc
    .tuple(schemes, separators, fc.array(b64urlText, { minLength: 1, maxLength: 6 }))
    .map(([s, sep, parts]) => `${s}${sep}${parts.join('.')}`),
)

const ALGS = ['RS256', 'ES256', 'PS256', 'HS256', 'none', 'NONE', 'EdDSA', 'RS1', '', 'rs256']

/** JSON values of every kind, including the ones claims checks must reject. */
const jsonLike = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(ISSUER, AUDIENCE, [AUDIENCE], NOW, NOW + 600, NOW - 600, 'read:items', null),
)

/** A JSON object text with the given members (keys such as `__proto__` kept as written). */
const objectText = (members: readonly (readonly [string, unknown])[]): string =>
  `{${members.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`).join(',')}}`

const CLAIM_NAMES = [
  'iss',
  'aud',
  'exp',
  'nbf',
  'iat',
  'scope',
  'scp',
  'client_id',
  'sub',
  'jti',
  'azp',
  'nonce',
  'at_hash',
  '__proto__',
  'constructor',
  'prototype',
  'admin',
]
const HEADER_NAMES = ['alg', 'typ', 'kid', 'crit', 'b64', 'jku', 'jwk', 'x5u', 'x5c', 'cty', 'zip']

const members = (names: string[]) =>
  fc.array(fc.tuple(fc.constantFrom(...names), jsonLike), { maxLength: 6 })

/** Tokens of JWT shape: random headers and payloads, random or real signatures. */
const randomToken = fc.oneof(
  // Random segments.
  fc
    .tuple(b64urlText, b64urlText, b64urlText)
    .map(([h, p, s]) => `${h || 'e30'}.${p || 'e30'}.${s}`),
  // A random header and payload, signature bytes at random.
  fc
    .tuple(
      fc.constantFrom(...ALGS),
      members(HEADER_NAMES),
      members(CLAIM_NAMES),
      fc.uint8Array({ maxLength: 300 }),
    )
    .map(([alg, header, payload, signature]) =>
      [
        b64url(objectText([['alg', alg], ...header])),
        b64url(objectText([...Object.entries(kit.claims({}, NOW)), ...payload])),
        Buffer.from(signature).toString('base64url'),
      ].join('.'),
    ),
  // Validly signed by the issuer over random claims: only the claim checks decide.
  fc
    .tuple(members(CLAIM_NAMES), fc.constantFrom('at+jwt', 'JWT', undefined, 'id_token+jwt'))
    .map(([payload, typ]) =>
      kit.raw(
        JSON.stringify({ alg: 'RS256', kid: 'rsa-1', typ }),
        objectText([...Object.entries(kit.claims({}, NOW)), ...payload]),
      ),
    ),
)

/** Requirement-expression soup. */
const expressionWord = fc.constantFrom(
  'a',
  'b',
  'read:items',
  'admin',
  'and',
  'or',
  'AND',
  'Or',
  'aNd',
  '(',
  ')',
  ' ',
  '  ',
  '\t',
  '\n',
  '"',
  '\\',
  'é',
  'а',
  ':',
  '*',
  '()',
  ')(',
  'x'.repeat(300),
  '\u0000',
  '\u00a0',
)
const expressionSoup = fc.array(expressionWord, { maxLength: 40 }).map((words) => words.join(''))

type Tree = { op: 'scope'; scope: string } | { op: 'and' | 'or'; items: Tree[] }
const SCOPES = ['a', 'b', 'c', 'd', 'read:items', 'admin']
const { tree: treeArb } = fc.letrec<{ tree: Tree }>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(...SCOPES).map((scope): Tree => ({ op: 'scope', scope })),
    fc
      .tuple(fc.constantFrom('and', 'or'), fc.array(tie('tree'), { minLength: 2, maxLength: 3 }))
      .map(([op, items]): Tree => ({ op: op as 'and' | 'or', items })),
  ),
}))

/** Renders a tree with full parentheses; `and` is sometimes mere juxtaposition. */
function renderTree(tree: Tree, juxtapose: boolean): string {
  if (tree.op === 'scope') return tree.scope
  const joiner = tree.op === 'and' && juxtapose ? ' ' : ` ${tree.op} `
  return `(${tree.items.map((item) => renderTree(item, juxtapose)).join(joiner)})`
}

function evaluate(tree: Tree, granted: ReadonlySet<string>): boolean {
  if (tree.op === 'scope') return granted.has(tree.scope)
  return tree.op === 'and'
    ? tree.items.every((item) => evaluate(item, granted))
    : tree.items.some((item) => evaluate(item, granted))
}

/** RFC 6749 §3.3, written independently of scopeguard: the scopes a claim grants. */
function referenceScopes(value: unknown): Set<string> {
  const valid = (s: unknown): s is string =>
    typeof s === 'string' &&
    s.length > 0 &&
    [...s].every((c) => {
      const code = c.charCodeAt(0)
      return c.length === 1 && code >= 0x21 && code <= 0x7e && c !== '"' && c !== '\\'
    })
  if (typeof value === 'string') return new Set(value.split(' ').filter(valid))
  if (Array.isArray(value)) return new Set(value.filter(valid))
  return new Set()
}

const scopeChar = fc.constantFrom(
  'a',
  'd',
  'm',
  'i',
  'n',
  ':',
  'r',
  'e',
  's',
  't',
  ' ',
  ' ',
  '\t',
  '\n',
  '\r',
  '\u0000',
  '\u00a0',
  'а',
  'ｄ',
  '"',
  '\\',
  '*',
  '\u200b',
  'A',
  'I',
  '\u0131',
)
const scopeString = fc.oneof(
  fc.string({ unit: scopeChar, maxLength: 30 }),
  fc.constantFrom('admin', 'read:items', 'admin read:items', 'аdmin', 'admin\u0000', 'ADMIN'),
)
const scopeClaim = fc.oneof(
  scopeString,
  fc.array(fc.oneof(scopeString, fc.jsonValue({ maxDepth: 1 })), { maxLength: 5 }),
  fc.jsonValue({ maxDepth: 2 }),
)

/** Small policy documents: often valid, often not in one way or another. */
const POLICY_SCOPES = ['read:items', 'write:items', 'admin', 'bad scope', '', 'a"b']
const policyScope = fc.constantFrom(...POLICY_SCOPES)
const policyDocument = fc.record(
  {
    version: fc.constantFrom<unknown>(1, 1, 1, 2, '1', null),
    defaults: fc.record(
      {
        unmatched: fc.constantFrom<unknown>('deny', 'allow', 'maybe'),
        mode: fc.constantFrom<unknown>('enforce', 'monitor', 'off'),
        onOverScope: fc.constantFrom<unknown>('alert', 'block', 1),
        unknownClients: fc.constantFrom<unknown>('allow', 'alert', 'block', true),
      },
      { requiredKeys: [] },
    ),
    scopes: fc.dictionary(
      policyScope,
      fc.record(
        {
          description: fc.constantFrom<unknown>('text', 1),
          implies: fc.array(policyScope, { maxLength: 3 }),
          elevatable: fc.constantFrom<unknown>(true, false, 'yes'),
        },
        { requiredKeys: [] },
      ),
      { maxKeys: 4 },
    ),
    routes: fc.dictionary(
      fc
        .tuple(
          fc.constantFrom('GET', 'POST', 'ALL', 'HEAD', 'get', 'FETCH', ''),
          fc.constantFrom(
            '/items',
            '/items/:id',
            '/a/*rest',
            'items',
            '/x{/:y}',
            '/(',
            '/:',
            '//',
            '',
          ),
        )
        .map(([method, path]) => `${method} ${path}`),
      fc.oneof(
        fc.constantFrom<unknown>('read:items', 'admin or write:items', 'read:items AND admin', '('),
        fc.array(policyScope, { maxLength: 2 }),
        fc.record(
          {
            require: fc.constantFrom<unknown>('read:items', ['admin'], 3),
            public: fc.constantFrom<unknown>(true, false, 'yes'),
            mode: fc.constantFrom<unknown>('enforce', 'monitor', 'loud'),
            conditions: fc.constantFrom<unknown>(
              [{ claim: 'tenant', equalsParam: 'id' }],
              [{ claim: 'plan', equals: 'pro' }],
              [{ claim: 'x' }],
              'none',
            ),
          },
          { requiredKeys: [] },
        ),
      ),
      { maxKeys: 4 },
    ),
    clients: fc.dictionary(
      fc.constantFrom('reader', 'writer', ''),
      fc.record(
        {
          allow: fc.array(policyScope, { maxLength: 2 }),
          onOverScope: fc.constantFrom<unknown>('alert', 'block', 'explode'),
        },
        { requiredKeys: ['allow'] },
      ),
      { maxKeys: 2 },
    ),
  },
  { requiredKeys: ['version', 'scopes', 'routes'] },
)

/** Small policy documents that are mostly right: each may still break one rule. */
const CATALOG = ['read:items', 'write:items', 'admin']
const plausiblePolicy = fc
  .tuple(
    fc.subarray(CATALOG, { minLength: 1 }),
    fc.array(fc.tuple(fc.constantFrom(...CATALOG), fc.subarray(CATALOG, { maxLength: 1 })), {
      maxLength: 2,
    }),
    fc.dictionary(
      fc
        .tuple(
          fc.constantFrom('GET', 'POST', 'ALL', 'DELETE'),
          fc.constantFrom('/items', '/items/:id', '/files/*path', '/health', '/docs{/:section}'),
        )
        .map(([method, path]) => `${method} ${path}`),
      fc.oneof(
        fc.constantFrom<unknown>('read:items', 'admin or write:items', ['read:items', 'admin']),
        fc.constant<unknown>({ public: true }),
        fc.constant<unknown>({ require: 'admin', mode: 'monitor' }),
      ),
      { minKeys: 1, maxKeys: 4 },
    ),
  )
  .map(([scopes, implications, routes]) => ({
    version: 1,
    scopes: Object.fromEntries(
      scopes.map((scope) => {
        const implies = implications.find(([from]) => from === scope)?.[1]
        return [scope, implies === undefined ? {} : { implies }]
      }),
    ),
    routes,
  }))

function expectPositionedProblems(error: unknown, text: string): void {
  expect(error).toBeInstanceOf(PolicyValidationError)
  const { problems } = error as PolicyValidationError
  expect(problems.length).toBeGreaterThan(0)
  expect(problems.some((p) => p.severity === 'error')).toBe(true)
  const lines = text.split('\n').length
  for (const problem of problems) {
    expect(problem.line).toBeGreaterThanOrEqual(1)
    expect(problem.line).toBeLessThanOrEqual(lines + 1)
    expect(problem.column).toBeGreaterThanOrEqual(1)
    expect(problem.pointer === '' || problem.pointer.startsWith('/')).toBe(true)
    expect(typeof problem.message).toBe('string')
    expect(problem.message.length).toBeGreaterThan(0)
  }
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

describe('fuzz: core', () => {
  let guards: Guard[]
  beforeAll(() => {
    const base = { issuer: ISSUER, audience: AUDIENCE, realm: REALM, queryToken: true }
    guards = [
      createGuard({ ...base, keys: kit.jwks }),
      createGuard({ ...base, keys: kit.jwks, strict: true, maxTokenAge: 60, cache: false }),
      // A key set that cannot be fetched: JWT-shaped tokens may get 503.
      createGuard({ ...base, jwksUri: 'http://127.0.0.1:1/jwks', timeout: 200 }),
    ]
  })
  afterAll(async () => {
    await Promise.all(guards.map((g) => g.close()))
  })

  it('random Authorization headers: never a throw, only 400/401/503 with a fixed challenge', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(authorizationValue, { minLength: 1, maxLength: 3 }),
        fc.option(fc.string({ maxLength: 60 })),
        async (values, query) => {
          for (const guard of guards) {
            const rawHeaders = values.flatMap((v) => ['Authorization', v])
            const decision = await guard.authenticate({
              method: 'GET',
              path: '/items',
              headers: { authorization: values[0] },
              rawHeaders,
              query: query ?? undefined,
            })
            checkDenial(decision)
            if (values.length > 1) expect(decision.status).toBe(400)
          }
        },
      ),
      run(500),
    )
  })

  it('random tokens, signed or not: never a throw; refused with 401/503, or accepted only when valid', async () => {
    let accepted = 0
    await fc.assert(
      fc.asyncProperty(randomToken, async (token) => {
        for (const guard of guards) {
          const decision = await guard.authenticate({
            method: 'GET',
            path: '/items',
            headers: { authorization: `Bearer ${token}` },
          })
          if (!decision.allowed) {
            checkDenial(decision)
            continue
          }
          // Accepted: it must really be a valid access token of this issuer for this API.
          accepted++
          const claims = JSON.parse(
            Buffer.from(token.split('.')[1] ?? '', 'base64url').toString(),
          ) as Record<string, unknown>
          expect(claims['iss']).toBe(ISSUER)
          const aud = claims['aud']
          expect(aud === AUDIENCE || (Array.isArray(aud) && aud.includes(AUDIENCE))).toBe(true)
          expect(typeof claims['exp']).toBe('number')
          expect(claims['exp'] as number).toBeGreaterThan(NOW - 5 - 60)
          const auth = decision.auth
          expect(auth).toBeDefined()
          expect([...(auth?.scopes ?? [])].sort()).toEqual(
            [...referenceScopes(claims['scope'] ?? claims['scp'])].sort(),
          )
          expect(Object.getPrototypeOf(auth?.claims)).toBeNull()
          expect(guard.authorize(auth, compileRequirement('admin')).allowed).toBe(
            auth?.scopes.has('admin'),
          )
        }
      }),
      run(400),
    )
    // The acceptance path was exercised too, not only refusals.
    expect(accepted).toBeGreaterThan(10)
  })

  it('random requirement expressions compile or throw ScopeguardConfigError, nothing else', () => {
    const compiles = (input: unknown) => {
      try {
        const requirement = compileRequirement(input as string)
        expect(requirement.alternatives.length).toBeGreaterThan(0)
        for (const alternative of requirement.alternatives) {
          for (const scope of alternative) {
            expect(referenceScopes(scope).has(scope)).toBe(true)
            expect(['and', 'or']).not.toContain(scope)
          }
        }
      } catch (error) {
        expect(error).toBeInstanceOf(ScopeguardConfigError)
        expect((error as ScopeguardConfigError).code).toBe('ERR_SG_CONFIG')
      }
    }
    fc.assert(fc.property(fc.string({ maxLength: 120 }), compiles), run(500))
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 60 }), compiles), run(300))
    fc.assert(fc.property(expressionSoup, compiles), run(500))
    fc.assert(fc.property(fc.anything({ maxDepth: 2 }), compiles), run(300))
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string({ maxLength: 12 }), fc.anything({ maxDepth: 1 })), {
          maxLength: 5,
        }),
        compiles,
      ),
      run(300),
    )
    compiles(`${'('.repeat(1000)}a${')'.repeat(1000)}`)
    compiles('a '.repeat(2100))
    compiles(Array.from({ length: 7 }, (_, i) => `(a${i} or b${i})`).join(' and '))
  })

  it('compiled requirements agree with a reference evaluator (model check)', () => {
    fc.assert(
      fc.property(treeArb, fc.boolean(), fc.subarray(SCOPES), (tree, juxtapose, granted) => {
        let requirement
        try {
          requirement = compileRequirement(renderTree(tree, juxtapose))
        } catch (error) {
          // Only the documented limits may refuse a well-formed expression.
          expect((error as Error).message).toMatch(/too many (alternatives|terms)/)
          return
        }
        expect(satisfies(requirement, new Set(granted))).toBe(evaluate(tree, new Set(granted)))
      }),
      run(500),
    )
  })

  it('random scope claims never satisfy a requirement the RFC 6749 §3.3 reading does not', () => {
    fc.assert(
      fc.property(scopeClaim, treeArb, fc.constantFrom('scope', 'scp'), (value, tree, claim) => {
        const granted = readScopes(Object.freeze({ [claim]: value }))
        const reference = referenceScopes(value)
        expect([...granted].sort()).toEqual([...reference].sort())
        let requirement
        try {
          requirement = compileRequirement(renderTree(tree, false))
        } catch {
          return
        }
        expect(satisfies(requirement, granted)).toBe(evaluate(tree, reference))
      }),
      run(500),
    )
  })

  it('random scope claims in signed tokens: auth.scopes is exactly the reference set', async () => {
    const guard = guards[1] as Guard
    await fc.assert(
      fc.asyncProperty(scopeClaim, fc.constantFrom('scope', 'scp'), async (value, claim) => {
        const base = kit.claims({}, Math.floor(Date.now() / 1000))
        delete base['scope']
        const token = kit.jwt({ ...base, [claim]: value })
        const decision = await guard.authenticate({
          method: 'GET',
          headers: { authorization: `Bearer ${token}` },
        })
        if (!decision.allowed) throw new Error(`refused: ${String(decision.rejection)}`)
        expect([...(decision.auth?.scopes ?? [])].sort()).toEqual(
          [...referenceScopes(value)].sort(),
        )
        expect(decision.auth?.scopes.has('admin')).toBe(referenceScopes(value).has('admin'))
      }),
      run(200),
    )
  })

  it('random policy documents load or throw PolicyValidationError with positioned problems', () => {
    const outcomes = { loaded: 0, refused: 0 }
    fc.assert(
      fc.property(fc.oneof(plausiblePolicy, policyDocument), (document) => {
        const text = JSON.stringify(document, null, 2)
        let loaded: PolicyDocument | undefined
        try {
          loaded = loadPolicyDocument(text, { format: 'json', file: 'policy.json' })
          outcomes.loaded++
        } catch (error) {
          outcomes.refused++
          expectPositionedProblems(error, text)
          for (const problem of (error as PolicyValidationError).problems) {
            expect(problem.file).toBe('policy.json')
          }
        }
        // The object form agrees with the text form, and a guard takes it or refuses it cleanly.
        try {
          createPolicySource(document as PolicyDocument, () => undefined)
          expect(loaded).toBeDefined()
        } catch (error) {
          expect(loaded).toBeUndefined()
          expect(error).toBeInstanceOf(PolicyValidationError)
        }
        try {
          void createGuard({
            issuer: ISSUER,
            audience: AUDIENCE,
            keys: kit.jwks,
            policy: document as PolicyDocument,
          }).close()
        } catch (error) {
          expect(error).toBeInstanceOf(ScopeguardConfigError)
        }
      }),
      run(200),
    )
    expect(outcomes.loaded).toBeGreaterThan(5)
    expect(outcomes.refused).toBeGreaterThan(5)
  })

  it('random policy texts (YAML) load or throw PolicyValidationError with positioned problems', () => {
    const yamlish = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc
        .array(
          fc.constantFrom(
            'version: 1',
            'scopes:',
            '  read:items: {}',
            '  admin: { implies: [read:items] }',
            'routes:',
            '  GET /items: read:items',
            '  GET /items: admin',
            '  POST /x: [',
            'routes: 3',
            '  - a',
            '\t',
            ': :',
            'version: 1\nversion: 1',
            '&a [*a]',
            '!!js/function x',
            '"',
            'scopes: { __proto__: { polluted: {} } }',
          ),
          { maxLength: 10 },
        )
        .map((lines) => lines.join('\n')),
    )
    fc.assert(
      fc.property(yamlish, (text) => {
        try {
          loadPolicyDocument(text, { file: 'policy.yaml' })
        } catch (error) {
          expectPositionedProblems(error, text)
        }
      }),
      run(400),
    )
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined()
  })
})

describe.each(ADAPTERS)('fuzz: %s adapter over HTTP', (_name, startApi) => {
  let api: TestApi
  beforeAll(async () => {
    api = await startApi({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: kit.jwks,
      realm: REALM,
      queryToken: true,
    })
  })
  afterAll(() => api?.close())

  it('random Authorization headers and tokens: only 400/401, a fixed challenge, an empty body', async () => {
    const statuses = new Set<number>()
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          authorizationValue,
          randomToken.map((t) => `Bearer ${t}`),
        ),
        fc.option(randomToken.map((t) => `access_token=${t}`)),
        async (value, query) => {
          const response = await send(`${api.url}/items${query === null ? '' : `?${query}`}`, {
            headers: [['Authorization', value]],
          })
          statuses.add(response.status)
          if (response.status === 200 || response.status === 403) {
            // Only a validly signed, valid token gets here, in exactly one transport.
            const signed = [value.startsWith('Bearer eyJ'), query?.startsWith('access_token=eyJ')]
            expect(signed.filter(Boolean)).toHaveLength(1)
            return
          }
          expect([400, 401]).toContain(response.status)
          expect(DENIAL_CHALLENGES.has(response.headers['www-authenticate'] as string)).toBe(true)
          expect(response.body).toBe('')
        },
      ),
      run(200),
    )
    expect(statuses).toContain(400)
    expect(statuses).toContain(401)
  })
})
