/**
 * Attack class: routes with a policy. Path-normalization and matcher-differential bypasses
 * (Spring Security CVE-2016-5007 and CVE-2022-22978, express-unless and express-jwt `unless`
 * bypasses, Tomcat/Jetty `;` path parameters, NUL, `#`, dot segments, percent-encoded
 * letters and slashes, case variants, trailing and doubled slashes, absolute-form targets),
 * HEAD vs GET, method-override headers and `next('route')` fall-through, against a policy in
 * which every `/admin`-style route needs `admin`. The invariant, over every probe and every
 * caller: a handler that needs `admin` never runs for a caller without `admin`. Every probe is
 * sent raw, so that the request target reaches the router exactly as written.
 */
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ScopeguardOptions } from '@scopeguard/core'
import { sendRaw, type RawReply } from './support/servers.js'
import {
  ADMIN_HANDLERS,
  MIDDLEWARE_ADAPTERS,
  ROUTE_ADAPTERS,
  ROUTE_POLICY,
  type RouteApp,
} from './support/route-apps.js'
import { AUDIENCE, CHALLENGES, createSigningKit, ISSUER, REALM } from './support/signing.js'
import {
  STATIC_FILES,
  UNROUTED_ADAPTERS,
  UNROUTED_POLICY,
  type UnroutedApp,
} from './support/unrouted-apps.js'

const kit = createSigningKit()
const tokenWith = (scope: string): string => kit.jwt(kit.claims({ scope }))
const CALLERS: [name: string, token: string | undefined][] = [
  ['no token', undefined],
  ['read:items', tokenWith('read:items')],
  ['admin', tokenWith('admin')],
]

const options = (): ScopeguardOptions => ({
  issuer: ISSUER,
  audience: AUDIENCE,
  keys: kit.jwks,
  realm: REALM,
  policy: ROUTE_POLICY,
})

interface Probe {
  method?: string
  /** The request target, verbatim on the request line. */
  target: string
  headers?: [string, string][]
  reference: string
}

const SPRING = 'Spring Security CVE-2016-5007'
const SPRING_REGEX = 'Spring Security CVE-2022-22978'
const UNLESS = 'express-unless / express-jwt unless() bypasses'
const TOMCAT = 'path parameters (CVE-2020-1957 class)'

/** Request targets aimed at the admin routes; `{origin}` is the app's own origin. */
const PROBES: Probe[] = [
  ...[
    '/admin',
    '/ADMIN',
    '/Admin',
    '/admin/',
    '/admin//',
    '//admin',
    '///admin',
    '/./admin',
    '/../admin',
    '/items/../admin',
    '/items/..%2fadmin',
    '/items/%2e%2e/admin',
    '/%2e/admin',
    '/admin/.',
    '/admin/./',
  ].map((target) => ({ target, reference: SPRING })),
  ...[
    '/%61dmin',
    '/%41DMIN',
    '/%61%64%6d%69%6e',
    '/admin%2F',
    '/admin%2fusers',
    '/admin/%75sers',
    '/ADMIN/USERS',
    '/admin/users/',
    '/admin%2Fusers%2F',
    '/admin%20',
    '/admin%09',
    '/admin%0a',
    '/admin%0d%0a',
    '/admin%E2%80%8B',
    '/%EF%BD%81dmin',
    '/admin.json',
  ].map((target) => ({ target, reference: SPRING_REGEX })),
  ...[
    '/admin;jsessionid=1',
    '/admin;/users',
    '/admin/users;x=1',
    '/admin/users/..;/',
    '/admin;',
    '/admin%3b',
  ].map((target) => ({ target, reference: TOMCAT })),
  ...[
    '/admin%00',
    '/admin%00/users',
    '/admin/users%00.json',
    '/admin#',
    '/admin#/x',
    '/admin%23',
    '/admin?x=1',
    '/admin?/../health',
    '/admin\\',
    '/admin/users\\..\\',
  ].map((target) => ({
    target,
    reference: 'NUL, fragment and backslash tricks (CWE-158, CWE-22)',
  })),
  ...[
    '/health',
    '/health/../admin',
    '/HEALTH',
    '/health/',
    '/health%2f..%2fadmin',
    '/health;/../admin',
    '/health/..;/admin',
    '/health?/admin',
  ].map((target) => ({ target, reference: UNLESS })),
  ...[
    '/admin/files/a/b',
    '/admin/files/..%2f..%2fadmin',
    '/admin/files/%2e%2e/x',
    '/ADMIN/FILES/x',
    '/admin/all',
    '/ADMIN/ALL/',
    '/things/secret',
    '/things/SECRET',
    '/things/secret/',
    '/things/%73ecret',
    '/api/admin',
    '/API/ADMIN',
    '/api//admin',
    '/api/admin/',
    '/api/./admin',
    '/reports',
    '/REPORTS/',
    '/admin-re',
    '/admin-re/x',
    '/ADMIN-RE',
    '/admin-unmapped',
  ].map((target) => ({ target, reference: 'every route shape of the router' })),
  ...[
    'http://evil.example/admin',
    'http://evil.example/ADMIN/users/',
    '{origin}/admin',
    'HTTP://127.0.0.1/admin',
    'http://evil.example//admin',
  ].map((target) => ({ target, reference: 'RFC 9112 §3.2.2 (absolute-form)' })),
  { method: 'HEAD', target: '/admin', reference: 'RFC 9110 §9.3.2 (HEAD runs GET handlers)' },
  { method: 'HEAD', target: '/reports', reference: 'RFC 9110 §9.3.2; policy makes HEAD public' },
  { method: 'HEAD', target: '/REPORTS/', reference: 'RFC 9110 §9.3.2' },
  { method: 'HEAD', target: '/admin/all', reference: 'RFC 9110 §9.3.2' },
  { method: 'HEAD', target: '/things/secret', reference: 'RFC 9110 §9.3.2' },
  { method: 'OPTIONS', target: '/admin', reference: 'RFC 9110 §9.3.7' },
  { method: 'OPTIONS', target: '*', reference: 'RFC 9112 §3.2.4 (asterisk-form)' },
  { method: 'POST', target: '/admin', reference: 'RFC 9110 §9.3.3' },
  { method: 'PUT', target: '/admin/users', reference: 'RFC 9110 §9.3.4' },
  { method: 'DELETE', target: '/admin/all', reference: 'app.all' },
  { method: 'PATCH', target: '/admin/all', reference: 'app.all' },
  { method: 'PROPFIND', target: '/admin/all', reference: 'app.all, RFC 4918' },
  { method: 'get', target: '/admin', reference: 'RFC 9110 §9.1 (methods are case-sensitive)' },
  ...(
    [
      ['/admin/users', 'GET'],
      ['/admin', 'GET'],
      ['/items', 'GET'],
      ['/admin/all', 'DELETE'],
      ['/admin-unmapped', 'GET'],
      ['/health', 'GET'],
    ] as [string, string][]
  ).flatMap(([target, method]) => [
    {
      method: 'POST',
      target,
      headers: [['X-HTTP-Method-Override', method]] as [string, string][],
      reference: 'method override header (OWASP WSTG-CONF-06)',
    },
    { method: 'POST', target: `${target}?_method=${method}`, reference: 'method override query' },
  ]),
]

interface Outcome {
  caller: string
  probe: string
  status: number
  ran: string[]
}

async function sweep(app: RouteApp, probes: readonly Probe[]): Promise<Outcome[]> {
  const outcomes: Outcome[] = []
  for (const probe of probes) {
    for (const [caller, token] of CALLERS) {
      const before = app.ran.length
      const reply: RawReply = await sendRaw(app.url, {
        method: probe.method ?? 'GET',
        target: probe.target.replace('{origin}', app.url),
        headers: [
          ...(probe.headers ?? []),
          ...(token === undefined ? [] : ([['Authorization', `Bearer ${token}`]] as const)),
        ],
      })
      outcomes.push({
        caller,
        probe: `${probe.method ?? 'GET'} ${probe.target} [${probe.reference}]`,
        status: reply.status,
        ran: app.ran.slice(before),
      })
    }
  }
  return outcomes
}

describe.each(ROUTE_ADAPTERS)('%s adapter: routes with a policy', (_name, startApp) => {
  let app: RouteApp
  let outcomes: Outcome[]
  beforeAll(async () => {
    app = await startApp(options())
    outcomes = await sweep(app, PROBES)
  })
  afterAll(() => app?.close())

  it(`runs no admin handler for a caller without admin (${PROBES.length} targets × 3 callers)`, () => {
    const breaches = outcomes.filter(
      (o) => o.caller !== 'admin' && o.ran.some((handler) => ADMIN_HANDLERS.has(handler)),
    )
    expect(breaches).toEqual([])
  })

  it('never answers 500, and refuses a caller without admin wherever the admin caller got an admin handler', () => {
    expect(outcomes.filter((o) => o.status >= 500 || o.status === 0)).toEqual([])
    const reachedByAdmin = new Set(
      outcomes
        .filter((o) => o.caller === 'admin' && o.ran.some((h) => ADMIN_HANDLERS.has(h)))
        .map((o) => o.probe),
    )
    // The probes are not all dead ends: many of the variants reach an admin handler (case,
    // trailing slash, `#`, absolute-form, HEAD, overrides, `next('route')`, ...).
    expect(reachedByAdmin.size).toBeGreaterThanOrEqual(25)
    for (const o of outcomes.filter((x) => x.caller !== 'admin' && reachedByAdmin.has(x.probe))) {
      expect([401, 403], `${o.caller}: ${o.probe}`).toContain(o.status)
    }
  })

  it('judges the canonical routes as the policy says (controls)', () => {
    const find = (caller: string, probe: string) =>
      outcomes.find((o) => o.caller === caller && o.probe.startsWith(`${probe} [`))
    expect(find('admin', 'GET /admin')).toMatchObject({ status: 200, ran: ['GET /admin'] })
    expect(find('read:items', 'GET /admin')).toMatchObject({ status: 403, ran: [] })
    expect(find('no token', 'GET /admin')).toMatchObject({ status: 401, ran: [] })
    expect(find('admin', 'GET /api/admin')).toMatchObject({ status: 200, ran: ['GET /api/admin'] })
    expect(find('admin', 'GET /admin/all')).toMatchObject({ status: 200, ran: ['ALL /admin/all'] })
    // Routes the policy cannot name (a RegExp path) or forgot are denied, even to admin.
    expect(find('admin', 'GET /admin-re')).toMatchObject({ status: 403, ran: [] })
    expect(find('admin', 'GET /admin-unmapped')).toMatchObject({ status: 403, ran: [] })
    expect(find('no token', 'GET /admin-unmapped')).toMatchObject({ status: 401, ran: [] })
  })

  it("judges the route a next('route') / next() fall-through reaches by its own rule", () => {
    const find = (caller: string) =>
      outcomes.find((o) => o.caller === caller && o.probe.startsWith('GET /things/secret ['))
    // read:items passes GET /things/:id, whose handler falls through to GET /things/secret (admin).
    expect(find('read:items')).toMatchObject({ status: 403, ran: ['GET /things/:id'] })
    expect(find('admin')).toMatchObject({
      status: 200,
      ran: ['GET /things/:id', 'GET /things/secret'],
    })
    expect(find('no token')).toMatchObject({ status: 401, ran: [] })
  })

  it('judges HEAD by the GET rule whose handler runs, even where the policy makes HEAD public', () => {
    const find = (caller: string) =>
      outcomes.find((o) => o.caller === caller && o.probe.startsWith('HEAD /reports ['))
    expect(find('no token')).toMatchObject({ status: 401, ran: [] })
    expect(find('read:items')).toMatchObject({ status: 403, ran: [] })
    expect(find('admin')).toMatchObject({ status: 200, ran: ['GET /reports'] })
  })

  it('judges a method override by the route the overridden method dispatches to', () => {
    const find = (caller: string) =>
      outcomes.find(
        (o) =>
          o.caller === caller && o.probe.startsWith('POST /admin/users [method override header'),
      )
    // Before the guard, the override turns the POST into GET /admin/users: judged by that rule.
    expect(find('read:items')).toMatchObject({ status: 403, ran: [] })
    expect(find('admin')).toMatchObject({ status: 200, ran: ['GET /admin/users'] })
  })

  it('lets the public route through to nothing else', () => {
    const healthy = outcomes.filter((o) => o.probe.startsWith('GET /health ['))
    expect(healthy.map((o) => [o.caller, o.status, o.ran])).toEqual([
      ['no token', 200, ['GET /health']],
      ['read:items', 200, ['GET /health']],
      ['admin', 200, ['GET /health']],
    ])
  })
})

describe.each(MIDDLEWARE_ADAPTERS)(
  '%s adapter: a response served by middleware after the guard, with a policy',
  (_name, startApp) => {
    let app: RouteApp
    let bare: RouteApp
    beforeAll(async () => {
      app = await startApp({
        ...options(),
        policy: {
          version: 1,
          scopes: { 'read:items': {} },
          routes: { 'GET /items': 'read:items' },
        },
      })
      bare = await startApp({ issuer: ISSUER, audience: AUDIENCE, keys: kit.jwks, realm: REALM })
    })
    afterAll(async () => {
      await Promise.all([app?.close(), bare?.close()])
    })

    it('without a policy, an anonymous request never reaches it (control)', async () => {
      const reply = await sendRaw(bare.url, { target: '/admin-mw/export' })
      expect({ status: reply.status, ran: bare.ran }).toEqual({ status: 401, ran: [] })
      expect(reply.headers['www-authenticate']).toEqual([CHALLENGES.missing])
    })

    // Regression (fixed; was a vulnerability): with a policy, a request without a token
    // passed the guard anonymously so that the route layer could judge it, but only router
    // routes are judged, so middleware mounted after the guard ran for anonymous callers. Now
    // only a request whose path could reach a `public` rule passes the guard without a token.
    //
    // Regression (fixed; was a vulnerability): a request WITH a valid token that reached a
    // handler outside the routers was authenticated but judged by no rule. Now a request that
    // no route of the app takes is judged by the policy at the guard (see the next suite).

    it('with a policy, an anonymous request is refused before the middleware runs', async () => {
      const before = app.ran.length
      const reply = await sendRaw(app.url, { target: '/admin-mw/export' })
      expect({ status: reply.status, ran: app.ran.slice(before) }).toEqual({
        status: 401,
        ran: [],
      })
    })

    it('with a policy, a valid token without any mapped route is refused too (unmatched: deny)', async () => {
      const before = app.ran.length
      const reply = await sendRaw(app.url, {
        target: '/admin-mw/export',
        headers: [['Authorization', `Bearer ${tokenWith('read:items')}`]],
      })
      expect({ status: reply.status, ran: app.ran.slice(before) }).toEqual({
        status: 403,
        ran: [],
      })
      expect(reply.headers['www-authenticate']).toEqual([CHALLENGES.forbidden])
    })

    it('without a policy, a valid token reaches it as before (control)', async () => {
      const before = bare.ran.length
      const reply = await sendRaw(bare.url, {
        target: '/admin-mw/export',
        headers: [['Authorization', `Bearer ${tokenWith('read:items')}`]],
      })
      expect({ status: reply.status, ran: bare.ran.slice(before) }).toEqual({
        status: 200,
        ran: ['USE /admin-mw'],
      })
    })
  },
)

/**
 * A request that no route of the app takes is judged by the policy at the guard: by the rules
 * whose template matches its path (a literal template before a parameterised one), else as
 * unmapped. Whether a handler exists does not matter: an unmapped path is 403 under
 * `unmatched: deny`, as an unmapped route is; under `unmatched: allow` it goes on (to the
 * handler, or to the framework's 404). A request a route takes is judged by the route alone.
 */
describe.each(UNROUTED_ADAPTERS)(
  '%s adapter: requests that no route takes, judged by the policy',
  (adapter, startApp) => {
    let app: UnroutedApp
    let open: UnroutedApp
    let monitor: UnroutedApp
    beforeAll(async () => {
      app = await startApp({ ...options(), policy: UNROUTED_POLICY })
      open = await startApp({
        ...options(),
        policy: { ...UNROUTED_POLICY, defaults: { unmatched: 'allow', mode: 'enforce' } },
      })
      monitor = await startApp({
        ...options(),
        policy: { ...UNROUTED_POLICY, defaults: { unmatched: 'deny', mode: 'monitor' } },
      })
    })
    afterAll(async () => {
      await Promise.all([app?.close(), open?.close(), monitor?.close()])
    })

    /** Sends a GET with a token of `scope`, and returns what the app did for it. */
    const call = async (
      target: string,
      scope: string,
      on = app,
      method = 'GET',
      headers: [string, string][] = [],
    ) => {
      const [ran, decided] = [on.ran.length, on.decisions.length]
      const reply = await sendRaw(on.url, {
        method,
        target,
        headers: [['Authorization', `Bearer ${tokenWith(scope)}`], ...headers],
      })
      return {
        status: reply.status,
        body: reply.body,
        challenge: reply.headers['www-authenticate'],
        ran: on.ran.slice(ran),
        decisions: on.decisions
          .slice(decided)
          .map((d) => ({ allowed: d.allowed, reason: d.reason, route: d.route })),
      }
    }

    it('middleware on a path no rule names: 403 route_unmapped before it runs, one decision', async () => {
      expect(await call('/admin-mw/export', 'admin')).toMatchObject({
        status: 403,
        challenge: [CHALLENGES.forbidden],
        ran: [],
        decisions: [{ allowed: false, reason: 'route_unmapped', route: '<unrouted>' }],
      })
    })

    it('middleware on a path a rule names is judged by that rule', async () => {
      expect(await call('/export', 'read:items')).toMatchObject({
        status: 403,
        challenge: [CHALLENGES.insufficient('admin')],
        ran: [],
        decisions: [{ allowed: false, reason: 'scope_insufficient', route: '/export' }],
      })
      expect(await call('/export', 'admin')).toMatchObject({
        status: 200,
        ran: ['USE /export'],
        decisions: [{ allowed: true, reason: 'allowed', route: '/export' }],
      })
    })

    it('static files: judged by the wildcard rule, or by a literal rule naming the file', async () => {
      const file = await call('/static/app.js', 'read:items')
      expect(file).toMatchObject({
        status: 200,
        decisions: [{ allowed: true, route: '/static/*path' }],
      })
      expect(file.body).toBe(STATIC_FILES['app.js'])
      expect(await call('/static/secret.txt', 'read:items')).toMatchObject({
        status: 403,
        challenge: [CHALLENGES.insufficient('admin')],
        decisions: [{ allowed: false, route: '/static/secret.txt' }],
      })
      const secret = await call('/static/secret.txt', 'admin')
      expect(secret.status).toBe(200)
      expect(secret.body).toBe(STATIC_FILES['secret.txt'])
    })

    it('case and trailing-slash variants of an unmapped path are refused alike', async () => {
      for (const target of ['/ADMIN-MW/export', '/admin-mw/', '/Admin-Mw', '/export/x'])
        expect({ target, ...(await call(target, 'admin')) }).toMatchObject({
          target,
          status: 403,
          ran: [],
        })
    })

    it('case and trailing-slash variants of a mapped path are judged by its rule', async () => {
      for (const [target, rule] of [
        ['/EXPORT', '/export'],
        ['/export/', '/export'],
        ['/Static/Secret.TXT', '/static/secret.txt'],
        ['/STATIC/app.js/', '/static/*path'],
      ] as const) {
        const scope = rule === '/static/*path' ? 'admin' : 'read:items'
        expect({ target, ...(await call(target, scope)) }).toMatchObject({
          target,
          decisions: [{ allowed: scope === 'admin', route: rule }],
        })
      }
    })

    it('a path no handler serves: 403 under unmatched: deny, 404 as before under unmatched: allow', async () => {
      expect(await call('/nowhere', 'read:items')).toMatchObject({
        status: 403,
        challenge: [CHALLENGES.forbidden],
      })
      expect(await call('/nowhere', 'read:items', open)).toMatchObject({
        status: 404,
        decisions: [{ allowed: true, route: '<unrouted>' }],
      })
    })

    it('a method the route does not serve is unmapped: 403', async () => {
      expect(await call('/items', 'read:items', app, 'DELETE')).toMatchObject({
        status: 403,
        ran: [],
        decisions: [{ allowed: false, reason: 'route_unmapped' }],
      })
    })

    it('unmatched: allow lets middleware on an unmapped path run, and rules still apply', async () => {
      expect(await call('/admin-mw/export', 'read:items', open)).toMatchObject({
        status: 200,
        ran: ['USE /admin-mw'],
        decisions: [{ allowed: true, route: '<unrouted>' }],
      })
      expect(await call('/export', 'read:items', open)).toMatchObject({ status: 403, ran: [] })
    })

    it('middleware answering a method the route of its path does not serve: its answer is replaced by 403', async () => {
      // The path is a route's, so the guard lets the request on (an override after it could
      // still make it that route's); no route judged it when the answer started: judged then.
      expect(await call('/items', 'admin', app, 'POST')).toMatchObject({
        status: 403,
        body: '',
        challenge: [CHALLENGES.forbidden],
        ran: ['USE POST /items'],
        decisions: [{ allowed: false, reason: 'route_unmapped', route: '<unrouted>' }],
      })
    })

    it('monitor mode: middleware on an unmapped path runs, and the decision records the violation', async () => {
      const before = monitor.decisions.length
      expect(await call('/admin-mw/export', 'read:items', monitor)).toMatchObject({
        status: 200,
        ran: ['USE /admin-mw'],
      })
      expect(monitor.decisions.slice(before)).toMatchObject([
        {
          allowed: true,
          mode: 'monitor',
          route: '<unrouted>',
          violations: [{ type: 'unmapped_route', mode: 'monitor', enforced: false }],
        },
      ])
    })

    it('a request a route takes is judged by the route, once', async () => {
      expect(await call('/items', 'read:items')).toMatchObject({
        status: 200,
        ran: ['GET /items'],
        decisions: [{ allowed: true, route: '/items' }],
      })
    })

    it('a route the guard cannot see (sub-app, composed router) is judged by its rule, once', async () => {
      const [target, handler] =
        adapter === 'express'
          ? ['/sub/report', 'SUB GET /report']
          : ['/composed', 'COMPOSED GET /composed']
      expect(await call(target, 'read:items')).toMatchObject({
        status: 200,
        ran: [handler],
        decisions: [{ allowed: true, route: target }],
      })
    })

    it.runIf(adapter === 'express')(
      'middleware answering a path the route after it cannot decode: its answer is replaced by 403',
      async () => {
        expect(await call('/enc/%C0%AF', 'admin')).toMatchObject({
          status: 403,
          body: '',
          ran: ['USE /enc'],
          decisions: [{ allowed: false, reason: 'route_unmapped' }],
        })
      },
    )

    it.runIf(adapter === 'express')(
      'response wrappers installed after the guard (compression-like) keep working, and a denial passes through them',
      async () => {
        const shout: [string, string][] = [['X-Shout', '1']]
        const streamed = await call('/stream', 'read:items', app, 'GET', shout)
        expect(streamed).toMatchObject({ status: 200, ran: ['GET /stream'] })
        expect(streamed.body.replace(/\r\n[0-9a-f]+\r\n|\r\n/g, '')).toMatch(/ONE,TWO,THREE/)
        expect(await call('/items', 'admin', app, 'POST', shout)).toMatchObject({
          status: 403,
          body: '',
          ran: ['USE POST /items'],
        })
      },
    )

    it.runIf(adapter === 'express')(
      'an answer replaced by 403 drops its own headers and body however it was written, and the connection stays usable',
      async () => {
        const agent = new Agent({ keepAlive: true, maxSockets: 1 })
        try {
          const ask = (method: string) =>
            new Promise<{
              status: number
              headers: IncomingHttpHeaders
              body: string
              reused: boolean
            }>((resolve, reject) => {
              const req = httpRequest(
                `${app.url}/items`,
                { method, agent, headers: { authorization: `Bearer ${tokenWith('admin')}` } },
                (res) => {
                  let body = ''
                  res.setEncoding('utf8')
                  res.on('data', (chunk: string) => (body += chunk))
                  res.on('end', () =>
                    resolve({
                      status: res.statusCode ?? 0,
                      headers: res.headers,
                      body,
                      reused: req.reusedSocket,
                    }),
                  )
                },
              )
              req.setTimeout(5_000, () => req.destroy(new Error(`no answer to ${method}`)))
              req.on('error', reject)
              req.end()
            })
          const before = app.ran.length
          const replies = [await ask('PUT'), await ask('PATCH'), await ask('POST')]
          expect(app.ran.slice(before)).toEqual([
            'USE PUT /items',
            'USE PATCH /items',
            'USE POST /items',
          ])
          for (const reply of replies) {
            expect(reply).toMatchObject({ status: 403, body: '' })
            expect(reply.headers['content-length']).toBe('0')
            expect(reply.headers['x-secret']).toBeUndefined()
            expect(reply.headers['www-authenticate']).toBe(CHALLENGES.forbidden)
          }
          // Each answer ended where its length said: the next request went on the same socket.
          expect(replies.map((reply) => reply.reused)).toEqual([false, true, true])
        } finally {
          agent.destroy()
        }
      },
    )

    it.runIf(adapter === 'express')(
      'middleware inside a mounted sub-app on a path no rule names: 403',
      async () => {
        expect(await call('/sub/raw', 'admin')).toMatchObject({
          status: 403,
          ran: [],
          decisions: [{ allowed: false, reason: 'route_unmapped' }],
        })
      },
    )
  },
)
