import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { checkPolicy } from '../src/policy/check-policy.js'
import { loadPolicyDocument, validatePolicySource } from '../src/policy/load-policy.js'
import { parsePolicySource } from '../src/policy/parse-policy.js'
import { formatProblem, PolicyValidationError, type PolicyProblem } from '../src/policy/types.js'

const fixture = (name: string): string =>
  readFileSync(new URL(`fixtures/policies/${name}`, import.meta.url), 'utf8')

/** Problems as `severity line:column pointer`, the shape most assertions compare. */
const where = (problems: readonly PolicyProblem[]): string[] =>
  problems.map((p) => `${p.severity} ${p.line}:${p.column} ${p.pointer}`)

const CATALOG = `version: 1
scopes:
  read:items: {}
  write:items: {}
  admin: {}
`

/** The problems of a policy made of the catalog above and `rest` (YAML, from line 6 on). */
function problemsOf(rest: string): PolicyProblem[] {
  return [...validatePolicySource(CATALOG + rest, { file: 'p.yaml' }).problems]
}

/** One problem's `severity line:column pointer: message`. */
function only(rest: string): string {
  const problems = problemsOf(rest)
  expect(problems, problems.map(formatProblem).join('\n')).toHaveLength(1)
  const [p] = problems as [PolicyProblem]
  return `${p.severity} ${p.line}:${p.column} ${p.pointer}: ${p.message}`
}

describe('loadPolicyDocument', () => {
  it('loads the DESIGN.md example, in YAML and in JSON, without a problem', () => {
    for (const file of ['design-example.yaml', 'design-example.json']) {
      const text = fixture(file)
      expect(validatePolicySource(text, { file }).problems).toEqual([])
      const document = loadPolicyDocument(text, { file })
      expect(document.routes['DELETE /items/:id']).toBe('delete:items or admin')
      expect(document.routes['GET /health']).toEqual({ public: true })
      expect(document.contracts?.['billing-rollout']?.stages[1]?.allow).toEqual([
        'read:items',
        'write:items',
      ])
    }
  })

  it('names the scope that the DESIGN.md example leaves out of its catalog', () => {
    const text = fixture('design-example.yaml').replace(/^ {2}read:reports:.*\n/m, '')
    expect(() => loadPolicyDocument(text, { file: 'design.yaml' })).toThrow(
      'design.yaml:13:28 /routes/GET ~1reports/require: scope "read:reports" is not in the catalog',
    )
  })

  it('reports every problem of a broken policy at once, sorted, with line, column and pointer', () => {
    let error: unknown
    try {
      loadPolicyDocument(fixture('broken.yaml'), { file: 'broken.yaml' })
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(PolicyValidationError)
    const { problems, message, code } = error as PolicyValidationError
    expect(code).toBe('ERR_SG_CONFIG')
    expect(where(problems)).toEqual([
      'error 1:10 /version',
      'error 2:24 /defaults/unmatched',
      'error 2:30 /defaults/mdoe',
      'error 4:27 /scopes/read:items/implies/0',
      'error 6:22 /scopes/admin/implies/0',
      'error 7:3 /scopes/bad scope',
      'error 9:15 /routes/GET ~1items',
      'error 10:19 /routes/GET ~1items~1:id',
      'error 11:3 /routes/GET ~1items~1:itemId',
      'error 12:41 /routes/POST ~1items/require',
      'error 13:19 /routes/PUT ~1items~1:id',
      'error 17:36 /routes/PATCH ~1items~1:id/conditions/0/equalsParam',
      'error 18:3 /routes/DELETE ~1items~1:a:b',
      'error 19:3 /routes/get ~1users',
      'warning 20:3 /routes/GET ~1files~1*path~1:name',
      'warning 21:3 /routes/GET ~1items~1new',
      'error 22:16 /routes/GET ~1export',
      'error 24:33 /clients/reader/allow/1',
      'error 25:3 /clients/writer/allow',
      'error 25:13 /clients/writer/alow',
      'error 29:12 /contracts/ramp/stage',
      'error 32:17 /contracts/ramp/stages/1/name',
      'error 32:29 /contracts/ramp/stages/1/allow',
      'error 34:13 /contracts/ramp-2/client',
      'error 36:13 /contracts/ramp-2/stages',
    ])
    const byPointer = new Map(problems.map((p) => [p.pointer, p.message]))
    expect(byPointer.get('/version')).toBe('the only policy format version is 1 (found 2)')
    expect(byPointer.get('/defaults/unmatched')).toBe(
      'must be "deny" or "allow" (found "dney") (did you mean "deny"?)',
    )
    expect(byPointer.get('/defaults/mdoe')).toBe(
      'unknown member "mdoe" (did you mean "mode"?): remove it (allowed: unmatched, mode, onOverScope, unknownClients)',
    )
    expect(byPointer.get('/scopes/read:items/implies/0')).toBe(
      '"implies" forms a cycle: read:items → write:items → read:items; remove one of these implications',
    )
    expect(byPointer.get('/routes/GET ~1items')).toBe(
      'invalid scope requirement "read:items and" at position 15: expected a scope or "("',
    )
    expect(byPointer.get('/routes/GET ~1items~1:itemId')).toContain(
      'duplicate route: the same as "GET /items/:id"',
    )
    expect(byPointer.get('/clients/writer/allow')).toBe(
      'missing required member "allow" (allowed scopes): add it',
    )
    // The message lists the errors (not the warnings) as file:line:column pointer: message.
    expect(message).toMatch(
      /^the policy is invalid \(23 problems\):\n {2}broken\.yaml:1:10 \/version: /,
    )
    expect(message).toContain(
      '\n  broken.yaml:10:19 /routes/GET ~1items~1:id: scope "read:itemz" is not in the catalog (did you mean "read:items"?)',
    )
    expect(message).not.toContain('/routes/GET ~1items~1new')
  })

  it('returns a policy whose only problems are warnings', () => {
    const text = `${CATALOG}routes:\n  GET /items/:id: read:items\n  GET /items/new: write:items\n`
    expect(where(validatePolicySource(text).problems)).toEqual([
      'warning 8:3 /routes/GET ~1items~1new',
    ])
    expect(Object.keys(loadPolicyDocument(text).routes)).toEqual([
      'GET /items/:id',
      'GET /items/new',
    ])
  })

  it('stops at syntax errors and places each one', () => {
    // Inline rather than a fixture file: Prettier cannot format broken YAML.
    const text = `version: 1
scopes:
  read:items: {}
    write:items: {}
routes:
  GET /items: [read:items
  POST /items: "write:items
`
    const { document, problems } = validatePolicySource(text, { file: 'syntax-errors.yaml' })
    expect(document).toBeUndefined()
    expect(problems.map(formatProblem)).toEqual([
      'syntax-errors.yaml:4:1 /scopes: invalid YAML: All mapping items must start at the same column',
      'syntax-errors.yaml:7:3 /routes/POST ~1items: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
      'syntax-errors.yaml:8:1 /: invalid YAML: Missing closing "quote',
    ])
  })

  it('reports duplicate keys in YAML and in JSON, where the second one is written', () => {
    const yaml = `${CATALOG}routes:\n  GET /items: read:items\n  GET /items: write:items\n`
    expect(where(validatePolicySource(yaml).problems)).toEqual(['error 8:3 /routes/GET ~1items'])
    expect(validatePolicySource(yaml).problems[0]?.message).toBe(
      'duplicate key "GET /items" (first at line 7, column 3): a key may appear once in a mapping; merge the two entries or remove one',
    )
    const json =
      '{\n  "version": 1,\n  "scopes": {},\n  "routes": { "GET /": { "public": true } },\n  "version": 1\n}\n'
    const { problems } = validatePolicySource(json, { file: 'policy.json' })
    expect(problems.map(formatProblem)).toEqual([
      'policy.json:5:3 /version: duplicate key "version" (first at line 2, column 3): a key may appear once in a mapping; merge the two entries or remove one',
    ])
  })

  it('reads .json files as strictly as JSON.parse, with positions', () => {
    const trailingComma = '{\n  "version": 1,\n  "scopes": {},\n  "routes": {},\n}\n'
    expect(
      validatePolicySource(trailingComma, { file: 'p.json' }).problems.map(formatProblem),
    ).toEqual(['p.json:5:1 /: invalid JSON: Expected double-quoted property name'])
    const comment = '{\n  "version": 1, // the format\n  "scopes": {}, "routes": {}\n}\n'
    expect(where(validatePolicySource(comment, { format: 'json' }).problems)).toEqual([
      'error 2:17 ',
    ])
    // The same text is valid YAML.
    expect(validatePolicySource(trailingComma, { file: 'p.yaml' }).problems).toEqual([])
    // A byte-order mark is not an error.
    expect(
      validatePolicySource(`\uFEFF${trailingComma.replace(',\n}', '\n}')}`, { file: 'p.json' })
        .problems,
    ).toEqual([])
  })

  it('reports unresolved aliases, non-scalar keys and an empty file', () => {
    expect(where(problemsOf('routes:\n  GET /items: *nope\n'))).toEqual([
      'error 7:15 /routes/GET ~1items',
    ])
    expect(problemsOf('routes:\n  ? [GET /items]\n  : read:items\n')[0]?.message).toBe(
      'invalid YAML: a key must be a plain string, not a list or mapping',
    )
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]']
    for (const [name, previous] of [
      ['b', 'a'],
      ['c', 'b'],
      ['d', 'c'],
    ]) {
      bomb.push(`${name}: &${name} [${Array(10).fill(`*${previous}`).join(', ')}]`)
    }
    expect(validatePolicySource(bomb.join('\n')).problems.map(formatProblem)).toEqual([
      '<policy>:1:1 /: invalid YAML: Excessive alias count indicates a resource exhaustion attack',
    ])
    expect(problemsOf('').map((p) => p.message)).toEqual([
      'missing required member "routes": add it',
    ])
    expect(validatePolicySource('').problems.map(formatProblem)).toEqual([
      '<policy>:1:1 /: the policy must be a mapping with "version", "scopes" and "routes" (found nothing)',
    ])
  })
})

describe('parsePolicySource', () => {
  const text = `version: 1
scopes:
  read:items: { description: "List" }
routes:
  GET /items:
    - read:items
`
  it('locates values, keys, and missing members at their nearest ancestor', () => {
    const { locate, problems, document } = parsePolicySource(text)
    expect(problems).toEqual([])
    expect(document).toEqual({
      version: 1,
      scopes: { 'read:items': { description: 'List' } },
      routes: { 'GET /items': ['read:items'] },
    })
    expect(locate('')).toEqual({ line: 1, column: 1 })
    expect(locate('/version')).toEqual({ line: 1, column: 10 })
    expect(locate('/version', 'key')).toEqual({ line: 1, column: 1 })
    expect(locate('/scopes/read:items/description')).toEqual({ line: 3, column: 30 })
    expect(locate('/routes/GET ~1items/0')).toEqual({ line: 6, column: 7 })
    expect(locate('/routes/GET ~1items', 'key')).toEqual({ line: 5, column: 3 })
    expect(locate('/scopes/read:items/implies/0')).toEqual({ line: 3, column: 3 })
    expect(locate('/clients/reader')).toEqual({ line: 1, column: 1 })
  })
})

describe('schema problems', () => {
  it('says what to write instead of a malformed route key', () => {
    const keys = ['get /items', 'FETCH /items', 'GET items', 'GET  /items', '/items']
    const messages = problemsOf(`routes:\n${keys.map((k) => `  ${k}: read:items\n`).join('')}`)
    expect(messages.map((p) => `${p.line}:${p.column} ${p.message}`)).toEqual([
      '7:3 route key "get /items": write the method in upper case, "GET /items"',
      '8:3 route key "FETCH /items" has an unknown method "FETCH": use "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS" or "ALL"',
      '9:3 route key "GET items": the path must start with "/", "GET /items"',
      '10:3 route key "GET  /items": separate the method from the path with one space, "GET /items"',
      '11:3 route key "/items" must be "METHOD /path", e.g. "GET /items"',
    ])
  })

  it('rejects scope names and scope entries outside the RFC 6749 grammar', () => {
    expect(only('routes: {}\nclients:\n  c: { allow: ["read items"] }\n')).toBe(
      'error 8:16 /clients/c/allow/0: "read items" is not a valid scope token (RFC 6749 §3.3): use printable ASCII without spaces, double quotes or backslashes',
    )
  })

  it('explains conditions with none or several of equalsParam, equals and in', () => {
    const problems = problemsOf(`routes:
  GET /items/:id:
    require: read:items
    conditions:
      - { claim: sub }
      - { claim: sub, equals: a, in: [b] }
`)
    expect(problems.map((p) => `${p.line}:${p.column} ${p.pointer}: ${p.message}`)).toEqual([
      '10:9 /routes/GET ~1items~1:id/conditions/0: a condition compares its claim with something: add one of "equalsParam", "equals" or "in"',
      '11:9 /routes/GET ~1items~1:id/conditions/1: a condition takes one of "equalsParam", "equals" or "in", not "equals" and "in": split it into one condition each',
    ])
  })
})

describe('semantic checks', () => {
  it('requires route, client, contract and implies scopes to be in the catalog', () => {
    const problems = problemsOf(`routes:
  GET /a: read:items or wirte:items
  GET /b: [read:items, nope]
  GET /c: { require: [admin, ghost] }
clients:
  c1: { allow: [read:items, raed:items] }
contracts:
  k:
    client: c2
    stage: s
    stages: [{ name: s, allow: [adminn] }]
`)
    expect(where(problems)).toEqual([
      'error 7:11 /routes/GET ~1a',
      'error 8:24 /routes/GET ~1b/1',
      'error 9:30 /routes/GET ~1c/require/1',
      'error 11:29 /clients/c1/allow/1',
      'error 16:33 /contracts/k/stages/0/allow/0',
    ])
    expect(problems[0]?.message).toBe(
      'scope "wirte:items" is not in the catalog (did you mean "write:items"?): add it under "scopes" or fix the name',
    )
    const implies = validatePolicySource('version: 1\nscopes:\n  a: { implies: [b] }\nroutes: {}\n')
    expect(where(implies.problems)).toEqual(['error 3:18 /scopes/a/implies/0'])
  })

  it('names each implies cycle once, from the scope written first', () => {
    const { problems } = validatePolicySource(`version: 1
scopes:
  a: { implies: [b] }
  b: { implies: [c] }
  c: { implies: [a, c] }
  d: { implies: [a] }
routes: {}
`)
    expect(problems.map((p) => `${p.pointer}: ${p.message}`)).toEqual([
      '/scopes/a/implies/0: "implies" forms a cycle: a → b → c → a; remove one of these implications',
      '/scopes/c/implies/1: "implies" forms a cycle: c → c; remove one of these implications',
    ])
  })

  it('reports requirements that do not compile', () => {
    expect(only('routes:\n  GET /a: (read:items or admin\n')).toBe(
      'error 7:11 /routes/GET ~1a: invalid scope requirement "(read:items or admin" at position 21: expected ")"',
    )
    expect(only('routes:\n  GET /a: { require: [read:items, and] }\n')).toBe(
      'error 7:22 /routes/GET ~1a/require: scope requirement entry 1 ("and") is not a valid scope token (RFC 6749 §3.3)',
    )
  })

  it('reports duplicate routes, parameter names aside, and routes alike but for case or a trailing slash', () => {
    const problems = problemsOf(`routes:
  GET /items/:id: read:items
  GET /items/:itemId: read:items
  ALL /items/:id: admin
  GET /Items/:id: read:items
  GET /orders: read:items
  GET /orders/: read:items
  POST /items/:x: write:items
`)
    expect(where(problems)).toEqual([
      'error 8:3 /routes/GET ~1items~1:itemId',
      'warning 10:3 /routes/GET ~1Items~1:id',
      'warning 12:3 /routes/GET ~1orders~1',
    ])
    expect(problems[1]?.message).toContain('matches the same requests as "GET /items/:id"')
  })

  it('warns about routes that can match the same request, with an example path', () => {
    const problems = problemsOf(`routes:
  GET /users/:id/posts: read:items
  GET /users/me/:section: read:items
  GET /items/:id: read:items
  GET /items/new: read:items
  GET /items{/:id}/history: read:items
  GET /files/*path: read:items
  GET /files/readme.txt: read:items
  GET /users/:id: read:items
  DELETE /items/new: admin
`)
    const overlap = /^can match the same request as (".*?") \(e\.g\. (".*?")\)/
    expect(
      problems.map(
        (p) =>
          `${p.severity} ${p.line}:${p.column} ${p.pointer} ${overlap.exec(p.message)?.slice(1).join(' ')}`,
      ),
    ).toEqual([
      'warning 8:3 /routes/GET ~1users~1me~1:section "GET /users/:id/posts" "/users/me/posts"',
      'warning 10:3 /routes/GET ~1items~1new "GET /items/:id" "/items/new"',
      'warning 11:3 /routes/GET ~1items{~1:id}~1history "GET /items/:id" "/items/history"',
      'warning 13:3 /routes/GET ~1files~1readme.txt "GET /files/*path" "/files/readme.txt"',
    ])
    expect(problems[1]?.message).toBe(
      'can match the same request as "GET /items/:id" (e.g. "/items/new"): the router dispatches it to whichever route the app registers first, and that rule applies; make sure this is intended, or make the paths distinct',
    )
  })

  it('reports paths the routers reject, with the path-to-regexp message', () => {
    const problems = problemsOf(`routes:
  GET /a/:: read:items
  GET /b/:id?: read:items
  GET /c/(x): read:items
  GET /d/:from:to: read:items
  GET /e{/:a}{/:b}{/:c}{/:d}{/:e}{/:f}{/:g}{/:h}{/:i}: read:items
`)
    expect(problems.map((p) => `${p.line}:${p.column} ${p.message}`)).toEqual([
      '7:3 route path "/a/:" is rejected by Express 5 and @koa/router: Missing parameter name at index 4; name every parameter and wildcard (":id", "*path")',
      '8:3 route path "/b/:id?" is rejected by Express 5 and @koa/router: Unexpected ? at index 6; write optional parts in braces ("/items{/:id}") and repeated segments as a named wildcard ("/*path")',
      '9:3 route path "/c/(x)" is rejected by Express 5 and @koa/router: Unexpected ( at index 3; regular expressions are not supported; write a backslash before the character to match it literally',
      '10:3 route path "/d/:from:to" is rejected by Express 5 and @koa/router: Missing text before "to" param; put literal text between two parameters ("/:from-:to"), or the router cannot tell where one ends',
      '11:3 route path "/e{/:a}{/:b}{/:c}{/:d}{/:e}{/:f}{/:g}{/:h}{/:i}" is rejected by Express 5 and @koa/router: Too many path combinations; use fewer optional groups "{…}"',
    ])
  })

  it('warns about a wildcard followed by more parameters, and accepts separated parameters', () => {
    const problems = problemsOf(`routes:
  GET /files/*path/:name: read:items
  GET /a/*from/b/*to: read:items
  GET /range/:from-:to: read:items
  GET /flights/:from.:to: read:items
  GET /docs/*path: read:items
`)
    expect(problems.map((p) => `${p.severity} ${p.line}:${p.column} ${p.message}`)).toEqual([
      'warning 7:3 in route path "/files/*path/:name", the wildcard "*path" is followed by ":name": the wildcard takes all it can and ":name" gets what is left, which is easy to misread; end the path with the wildcard if the app allows it',
      'warning 8:3 route path "/a/*from/b/*to" has 2 wildcards: path-to-regexp 8.4 matches every wildcard after "*from" within one segment, and releases before 8.4.0 compile such a path into a regular expression that can backtrack catastrophically; use a single wildcard, at the end of the path',
    ])
  })

  it('requires a rule to be public or to require scopes, not both', () => {
    const problems = problemsOf(`routes:
  GET /a: { public: true, require: read:items }
  GET /b: { public: true, conditions: [{ claim: sub, equals: x }] }
  GET /c: { mode: monitor }
  GET /d: { public: false }
  GET /e: { public: true, mode: monitor }
`)
    expect(problems.map((p) => `${p.line}:${p.column} ${p.pointer}: ${p.message}`)).toEqual([
      '7:36 /routes/GET ~1a/require: a public route needs no token, so it cannot require scopes: remove "require" or "public: true"',
      '8:39 /routes/GET ~1b/conditions: a public route has no token to check conditions on: remove "conditions" or "public: true"',
      '9:11 /routes/GET ~1c: route "GET /c" requires nothing: add "require: <scopes>", or "public: true" if it needs no token',
      '10:11 /routes/GET ~1d: route "GET /d" requires nothing: add "require: <scopes>", or "public: true" if it needs no token',
    ])
  })

  it('requires equalsParam to name a parameter of the path', () => {
    const rule = (path: string, param: string): string =>
      `routes:\n  GET ${path}:\n    require: read:items\n    conditions: [{ claim: sub, equalsParam: ${param} }]\n`
    expect(problemsOf(rule('/users/:userId', 'userId'))).toEqual([])
    expect(problemsOf(rule('/users{/:userId}', 'userId'))).toEqual([])
    expect(only(rule('/users/:userId', 'userid'))).toBe(
      'error 9:45 /routes/GET ~1users~1:userId/conditions/0/equalsParam: route path "/users/:userId" has no parameter "userid" (did you mean "userId"?) (it has "userId"): name one of its parameters',
    )
    expect(only(rule('/users', 'id'))).toContain(
      'route path "/users" has no parameter "id" (it has none)',
    )
  })

  it('checks ramp contracts: current stage, stage names, widening, baseline, one per client', () => {
    const problems = problemsOf(`routes: {}
clients:
  billing: { allow: [read:items] }
contracts:
  first:
    client: billing
    stage: read-wirte
    stages:
      - { name: read-only, allow: [read:items] }
      - { name: read-write, allow: [read:items, write:items] }
      - { name: read-write, allow: [write:items, admin] }
  second:
    client: billing
    stage: only
    stages: [{ name: only, allow: [] }]
`)
    expect(
      problems.map((p) => `${p.severity} ${p.line}:${p.column} ${p.pointer}: ${p.message}`),
    ).toEqual([
      'error 12:12 /contracts/first/stage: "read-wirte" is not a stage of this contract (did you mean "read-write"?): use "read-only" or "read-write"',
      'error 16:17 /contracts/first/stages/2/name: stage "read-write" is defined twice in this contract: give each stage its own name',
      'error 16:36 /contracts/first/stages/2/allow: stage "read-write" drops "read:items", which the stage before it ("read-write") allows: each later stage may only widen; add it back',
      'warning 16:36 /contracts/first/stages/2/allow: the baseline of client "billing" does not allow "write:items" and "admin", which the last stage of this contract allows: tokens carrying them will be over-scoped once the contract gets there; add them to /clients/billing/allow',
      'error 18:13 /contracts/second/client: client "billing" already has the contract "first": a client has at most one contract; merge the two',
    ])
  })

  it('places problems at 1:1 when checkPolicy is given no locate', () => {
    const problems = checkPolicy({ version: 1, scopes: {}, routes: { 'GET /a': 'x' } })
    expect(problems.map(formatProblem)).toEqual([
      '<policy>:1:1 /routes/GET ~1a: scope "x" is not in the catalog: add it under "scopes" or fix the name',
    ])
    expect(checkPolicy('not a policy')).toEqual([])
  })
})
