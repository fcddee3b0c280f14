import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BEARER_CASES, INVALID_TOKEN_CASES, type CaseTokens } from '../cases/bearer-cases.js'
import { ADAPTERS, type TestApi } from '../support/apps.js'
import { send } from '../support/http.js'
import {
  apiOptions,
  mintCaseTokens,
  startAuthzFixture,
  type AuthzFixture,
} from '../support/token-kit.js'

let fixture: AuthzFixture
let tokens: CaseTokens

beforeAll(async () => {
  fixture = await startAuthzFixture()
  tokens = await mintCaseTokens(fixture)
})
afterAll(() => fixture?.close())

describe.each(ADAPTERS)(
  '%s adapter: RFC 6750 cases against the local authorization server',
  (_name, startApi) => {
    let api: TestApi
    beforeAll(async () => {
      api = await startApi(apiOptions(fixture.authz))
    })
    afterAll(() => api?.close())

    it.each(BEARER_CASES.map((c) => [`${c.name} (${c.reference})`, c] as const))(
      '%s',
      async (_title, c) => {
        const query = c.query ? `?${c.query(tokens)}` : ''
        const response = await send(`${api.url}${c.path}${query}`, {
          method: c.method ?? 'GET',
          headers: c.headers(tokens),
        })
        expect(response.status).toBe(c.status)
        expect(response.headers['www-authenticate'] ?? null).toBe(c.challenge)
        if (c.status >= 400) {
          expect(response.body).toBe('')
          expect(response.body).not.toMatch(/at .*\.js/)
        }
      },
    )

    it('answers every bad token with a byte-identical 401', async () => {
      const responses = await Promise.all(
        INVALID_TOKEN_CASES.map((c) => send(`${api.url}${c.path}`, { headers: c.headers(tokens) })),
      )
      const first = responses[0]
      expect(first?.status).toBe(401)
      for (const response of responses) {
        expect(response.status).toBe(401)
        expect(response.rawHeaders).toEqual(first?.rawHeaders)
        expect(response.body).toBe(first?.body)
      }
    })

    it('exposes the verified caller to the handler', async () => {
      const jwt = await send(`${api.url}/whoami`, {
        headers: [['Authorization', `Bearer ${tokens.esReader}`]],
      })
      expect(jwt.status).toBe(200)
      expect(JSON.parse(jwt.body)).toMatchObject({
        clientId: 'es-reader',
        scopes: ['read:items'],
        format: 'jwt',
        algorithm: 'ES256',
      })
      const opaque = await send(`${api.url}/whoami`, {
        headers: [['Authorization', `Bearer ${tokens.opaque}`]],
      })
      expect(JSON.parse(opaque.body)).toMatchObject({ clientId: 'legacy-client', format: 'opaque' })
    })
  },
)
