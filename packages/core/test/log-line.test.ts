import { describe, expect, it } from 'vitest'
import type { AuthInfo, Decision, DecisionEvent, ScopeguardEvent } from '../src/index.js'
import { toLogLine } from '../src/index.js'
import { recordDecision, type DecisionContext } from '../src/record-decision.js'

/**
 * toLogLine writes the decision records the guard builds field by field; the text must be
 * exactly what serializing the generic form gives: level, time in epoch ms, msg, then the
 * event's other fields in their order.
 */
function genericLine(event: ScopeguardEvent): string {
  const warn =
    event.type === 'violation' ||
    event.type === 'first_use' ||
    (event.type === 'decision' && !event.allowed) ||
    (event.type === 'policy' && event.action === 'rejected')
  const { time, ...rest } = event
  return `${JSON.stringify({ level: warn ? 40 : 30, time: Date.parse(time), msg: `scopeguard ${event.type}`, ...rest })}\n`
}

const auth = (overrides: Partial<AuthInfo> = {}): AuthInfo =>
  ({
    clientId: 'reports-client',
    subject: 'user-1',
    token: { id: 'jti-1', fingerprint: 'f' },
    scopes: new Set(['read:items', 'write:items']),
    claims: {},
    ...overrides,
  }) as unknown as AuthInfo

const allowed = (who: AuthInfo | undefined): Decision =>
  ({ allowed: true, status: 200, reason: 'scopes_satisfied', auth: who }) as unknown as Decision

const denied = (who: AuthInfo | undefined, extra: Record<string, unknown> = {}): Decision =>
  ({
    allowed: false,
    status: 403,
    reason: 'insufficient_scope',
    auth: who,
    missingScopes: ['delete:items'],
    headers: {},
    ...extra,
  }) as unknown as Decision

const context = (overrides: Partial<DecisionContext> = {}): DecisionContext => ({
  method: 'GET',
  path: '/items/42',
  route: '/items/:id',
  required: 'read:items',
  ...overrides,
})

const cases: [string, Decision, DecisionContext, string | undefined][] = [
  ['allowed, every member', allowed(auth()), context(), 'sha256:0123'],
  ['denied', denied(auth()), context(), 'sha256:0123'],
  [
    'anonymous, no route, no policy',
    denied(undefined, { status: 401, reason: 'missing_token', missingScopes: [] }),
    context({ route: undefined, required: undefined }),
    undefined,
  ],
  [
    'invalid token with a rejection',
    denied(undefined, { status: 401, reason: 'invalid_token', rejection: 'signature' }),
    context(),
    undefined,
  ],
  [
    'a path with quotes, backslashes, controls and non-ASCII',
    allowed(auth()),
    context({ path: '/it"ems\\\u0001/ü/😀/\u2028' }),
    'v',
  ],
  ['a path over 256 characters', allowed(auth()), context({ path: `/${'a'.repeat(400)}` }), 'v'],
  [
    'a client id and subject that need escaping',
    allowed(auth({ clientId: 'c"1', subject: 'ü\n' })),
    context(),
    'v',
  ],
  [
    'no subject, no token id',
    allowed(auth({ subject: undefined, token: { id: undefined } } as unknown as Partial<AuthInfo>)),
    context(),
    'v',
  ],
  [
    'violations and elevation',
    {
      ...allowed(
        auth({ elevation: { scopes: ['admin'], expiresAt: 1 } } as unknown as Partial<AuthInfo>),
      ),
      violations: [
        {
          kind: 'over_scoped',
          mode: 'monitor',
          enforced: false,
          scopes: ['admin'],
          detail: 'x "y"',
        },
      ],
    } as unknown as Decision,
    context(),
    'v',
  ],
  [
    'a DPoP binding',
    allowed(auth({ binding: { kind: 'dpop', jkt: 'abc' } } as unknown as Partial<AuthInfo>)),
    context({ method: 'DELETE' }),
    'v',
  ],
  ['an empty scope set', allowed(auth({ scopes: new Set() })), context(), 'v'],
]

describe('toLogLine on decision records', () => {
  it.each(cases)('%s: the same text as the generic form', (_name, decision, ctx, version) => {
    const record = recordDecision(decision, ctx, version)
    expect(toLogLine(record)).toBe(genericLine(record))
    // A second line from the same token reuses its scope list's JSON: still the same text.
    expect(toLogLine(recordDecision(decision, ctx, version))).toMatch(/^\{"level":/)
    expect(JSON.parse(toLogLine(record))).toEqual(JSON.parse(genericLine(record)))
  })

  it('writes a plain object with the fields of a decision record the generic way', () => {
    const record = recordDecision(allowed(auth()), context(), 'v')
    const copy = { ...record, extra: 'kept' } as unknown as DecisionEvent
    expect(toLogLine(copy)).toBe(genericLine(copy))
    expect(JSON.parse(toLogLine(copy))).toMatchObject({ extra: 'kept' })
  })

  it('keeps the record a plain object for every other reader', () => {
    const record = recordDecision(denied(auth()), context(), 'v')
    const plain = { ...record }
    expect(JSON.stringify(record)).toBe(JSON.stringify(plain))
    expect(structuredClone(record)).toEqual(plain)
    expect(record).toEqual(plain)
    expect(Object.keys(record)).toEqual(Object.keys(plain))
    expect((record as unknown as { constructor: unknown }).constructor).toBe(Object)
  })

  it("keeps DecisionEvent's field order, binding last", () => {
    const fields =
      'type v decisionId time allowed status reason mode method path route policyVersion clientId subject tokenId scopes required missing rejection violations elevated'
    const bound = auth({ binding: { kind: 'dpop', jkt: 'abc' } } as unknown as Partial<AuthInfo>)
    expect(Object.keys(recordDecision(allowed(auth()), context(), 'v')).join(' ')).toBe(fields)
    expect(Object.keys(recordDecision(denied(bound), context(), 'v')).join(' ')).toBe(
      `${fields} binding`,
    )
  })

  it('writes what each record holds when tokens, routes and values change from line to line', () => {
    const first = auth()
    const second = auth({
      clientId: 'billing "client"',
      subject: 'user-2',
      token: { id: 'jti-2' },
      scopes: new Set(['read:bills']),
    } as unknown as Partial<AuthInfo>)
    const lines: [DecisionEvent, string][] = []
    for (let i = 0; i < 6; i++) {
      const who = i % 2 === 0 ? first : second
      const where = context({ route: `/items/${i % 3}/:id`, method: i % 3 === 0 ? 'GET' : 'PUT' })
      const decision = i % 4 === 3 ? denied(who) : allowed(who)
      const record = recordDecision(decision, where, i < 3 ? 'v1' : 'v2')
      lines.push([record, toLogLine(record)])
    }
    for (const [record, line] of lines) expect(line).toBe(genericLine(record))
    // A listener may change a record before the sink writes it: the line follows the record.
    const record = recordDecision(allowed(first), context(), 'v1')
    expect(toLogLine(record)).toBe(genericLine(record))
    const changed = Object.assign(record, {
      clientId: 'other',
      subject: undefined,
      route: 42,
      method: 'PATCH',
      scopes: ['x'],
    })
    expect(toLogLine(changed)).toBe(genericLine(changed))
    const reason = { code: 'first' }
    const odd = Object.assign(recordDecision(allowed(first), context(), 'v1'), { reason })
    expect(toLogLine(odd)).toBe(genericLine(odd))
    reason.code = 'second'
    expect(toLogLine(odd)).toBe(genericLine(odd))
    // The same for a token's members, which are kept with the token's scope list.
    const subject = { name: 'first' }
    const held = Object.assign(recordDecision(allowed(first), context(), 'v1'), { subject })
    expect(toLogLine(held)).toBe(genericLine(held))
    subject.name = 'second'
    expect(toLogLine(held)).toBe(genericLine(held))
    expect(JSON.parse(toLogLine(changed))).toMatchObject({ clientId: 'other', route: 42 })
  })

  it("writes each token's own members when tokens share one scope set", () => {
    const scopes = new Set(['read:items'])
    const tokens = [
      auth({ scopes }),
      auth({ scopes, clientId: 'other-client' }),
      auth({ scopes, subject: 'user-2' }),
      auth({ scopes, token: { id: 'jti-2' } } as unknown as Partial<AuthInfo>),
      auth({ scopes }),
    ]
    for (const who of tokens) {
      const record = recordDecision(allowed(who), context(), 'v')
      expect(toLogLine(record)).toBe(genericLine(record))
    }
  })

  it('writes the same text past the bounds of its caches of repeated values', () => {
    const texts: string[] = []
    for (let i = 0; i < 1100; i++) {
      const record = recordDecision(
        allowed(auth({ subject: `user-${i}` })),
        context({ route: `/r/${i}` }),
        'v',
      )
      const line = toLogLine(record)
      if (i % 100 === 0) expect(line).toBe(genericLine(record))
      texts.push(line)
    }
    const again = recordDecision(
      allowed(auth({ subject: 'user-0' })),
      context({ route: '/r/0' }),
      'v',
    )
    expect(toLogLine(again)).toBe(genericLine(again))
    expect(new Set(texts.map((line) => JSON.parse(line).subject)).size).toBe(1100)
  })

  it('gives every record a distinct random (version 4) UUID as its decision id', () => {
    const ids = Array.from(
      { length: 1100 }, // past two refills of the ids
      () => recordDecision(allowed(auth()), context(), 'v').decisionId,
    )
    for (const id of ids) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    }
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('writes null for a time that is not a date, as JSON does with NaN', () => {
    const record = recordDecision(allowed(auth()), context(), 'v')
    const odd = Object.assign(record, { time: 'not a time' })
    expect(JSON.parse(toLogLine(odd))).toMatchObject({ time: null })
    expect(toLogLine(odd)).toBe(genericLine(odd))
  })
})
