import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  jwtVerify,
  type JSONWebKeySet,
} from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  DEMO_CLIENTS,
  DEMO_SCOPES,
  ITEMS_API,
  LEGACY_API,
  RESOURCE_SERVER,
  generateSigningKeys,
  startAuthzServer,
  type AuthzServer,
  type DemoClient,
} from '../examples/authz-server/src/index.js'

async function introspect(
  server: AuthzServer,
  token: string,
  as: { clientId: string; clientSecret: string } = RESOURCE_SERVER,
): Promise<Record<string, unknown>> {
  const response = await fetch(`${server.issuer}/token/introspection`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${as.clientId}:${as.clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ token }).toString(),
  })
  expect(response.status).toBe(200)
  return (await response.json()) as Record<string, unknown>
}

async function jwks(server: AuthzServer): Promise<JSONWebKeySet> {
  return (await (await fetch(server.jwksUri)).json()) as JSONWebKeySet
}

function kidOf(keys: { keys: { kty?: string; kid?: string }[] }, kty: string): string | undefined {
  return keys.keys.find((key) => key.kty === kty)?.kid
}

describe('local authorization server', () => {
  let server: AuthzServer
  beforeAll(async () => {
    server = await startAuthzServer()
  })
  afterAll(() => server?.stop())

  it('listens on 127.0.0.1 with an issuer without trailing slash', () => {
    expect(server.issuer).toBe(`http://127.0.0.1:${server.port}`)
    expect(server.jwksUri).toBe(`${server.issuer}/jwks`)
  })

  it('issues RS256 JWT access tokens (typ at+jwt) for the items API', async () => {
    const token = await server.token(DEMO_CLIENTS.reader)
    const header = decodeProtectedHeader(token)
    expect(header).toMatchObject({ alg: 'RS256', typ: 'at+jwt' })
    expect(header.kid).toBe(kidOf(await jwks(server), 'RSA'))
    const claims = decodeJwt(token)
    expect(claims).toMatchObject({
      iss: server.issuer,
      aud: ITEMS_API,
      client_id: 'reader',
      sub: 'reader',
      scope: 'read:items',
    })
    expect(typeof claims.jti).toBe('string')
    expect(claims.exp! - claims.iat!).toBe(600)
  })

  it('gives each client exactly its scopes by default', async () => {
    const scopes = async (client: DemoClient): Promise<unknown> =>
      decodeJwt(await server.token(client)).scope
    expect(await scopes(DEMO_CLIENTS.writer)).toBe('read:items write:items')
    expect(await scopes(DEMO_CLIENTS.admin)).toBe(DEMO_SCOPES.join(' '))
    expect(await scopes(DEMO_CLIENTS.esReader)).toBe('read:items')
  })

  it('issues a narrower scope on request, and refuses scopes the client does not have', async () => {
    const narrow = await server.token(DEMO_CLIENTS.admin, { scope: 'read:items' })
    expect(decodeJwt(narrow).scope).toBe('read:items')
    await expect(server.token(DEMO_CLIENTS.reader, { scope: 'write:items' })).rejects.toMatchObject(
      {
        code: 'ERR_AUTHZ_SERVER_REQUEST',
        status: 400,
        body: { error: 'invalid_scope' },
      },
    )
  })

  it('refuses unknown resources and clients without the client credentials grant', async () => {
    await expect(
      server.token(DEMO_CLIENTS.reader, { resource: 'https://other-api.scopeguard.test' }),
    ).rejects.toMatchObject({ body: { error: 'invalid_target' } })
    const resourceServer: DemoClient = { ...RESOURCE_SERVER, scopes: ['read:items'] }
    // oidc-provider answers invalid_request (not RFC 6749's unauthorized_client) here.
    await expect(server.token(resourceServer)).rejects.toMatchObject({
      body: { error_description: 'requested grant type is not allowed for this client' },
    })
    await expect(server.token(DEMO_CLIENTS.reader, { scope: 'read:items' })).resolves.toBeTypeOf(
      'string',
    )
    await expect(
      server.token({ ...DEMO_CLIENTS.reader, clientSecret: 'wrong' }),
    ).rejects.toMatchObject({ status: 401, body: { error: 'invalid_client' } })
  })

  it('signs es-reader tokens with ES256 and the EC key', async () => {
    const token = await server.token(DEMO_CLIENTS.esReader)
    const header = decodeProtectedHeader(token)
    expect(header).toMatchObject({ alg: 'ES256', typ: 'at+jwt' })
    expect(header.kid).toBe(kidOf(await jwks(server), 'EC'))
    expect(decodeJwt(token)).toMatchObject({ aud: ITEMS_API, client_id: 'es-reader' })
  })

  it('issues tokens that verify against its JWKS (RS256 and ES256)', async () => {
    const keySet = createRemoteJWKSet(new URL(server.jwksUri))
    for (const client of [DEMO_CLIENTS.writer, DEMO_CLIENTS.esReader]) {
      const { payload, protectedHeader } = await jwtVerify(await server.token(client), keySet, {
        issuer: server.issuer,
        audience: ITEMS_API,
        typ: 'at+jwt',
        algorithms: ['RS256', 'ES256'],
      })
      expect(payload.client_id).toBe(client.clientId)
      expect(protectedHeader.alg).toBe(client === DEMO_CLIENTS.esReader ? 'ES256' : 'RS256')
    }
    expect(server.stats.jwksRequests).toBeGreaterThanOrEqual(1)
  })

  it('issues opaque tokens for the legacy API that the resource server introspects, until revoked', async () => {
    const token = await server.token(DEMO_CLIENTS.legacy)
    expect(() => decodeProtectedHeader(token)).toThrow()
    const before = server.stats.introspectionRequests

    const active = await introspect(server, token)
    expect(active).toMatchObject({
      active: true,
      scope: 'read:items write:items',
      client_id: 'legacy-client',
      sub: 'legacy-client',
      aud: LEGACY_API,
      iss: server.issuer,
      token_type: 'Bearer',
    })
    expect(typeof active.exp).toBe('number')
    expect(typeof active.iat).toBe('number')

    await server.revoke(DEMO_CLIENTS.legacy, token)
    expect(await introspect(server, token)).toEqual({ active: false })
    expect(server.stats.introspectionRequests - before).toBe(2)
  })

  it('lets only the resource server introspect another client’s token', async () => {
    const token = await server.token(DEMO_CLIENTS.legacy)
    expect(await introspect(server, token, DEMO_CLIENTS.writer)).toEqual({ active: false })
    expect(await introspect(server, token, DEMO_CLIENTS.legacy)).toMatchObject({ active: true })
    await expect(server.revoke(DEMO_CLIENTS.writer, token)).rejects.toMatchObject({
      body: { error: 'invalid_request' },
    })
    expect(await introspect(server, token)).toMatchObject({ active: true })
  })

  it('issues a genuine ID token to demo-web through the authorization code flow', async () => {
    const idToken = await server.idToken()
    const header = decodeProtectedHeader(idToken)
    expect(header.alg).toBe('RS256')
    expect(header.typ).not.toBe('at+jwt')
    const { payload } = await jwtVerify(idToken, createRemoteJWKSet(new URL(server.jwksUri)), {
      issuer: server.issuer,
      audience: 'demo-web',
    })
    expect(payload).toMatchObject({ sub: 'demo-user', aud: 'demo-web' })
    expect(typeof payload.nonce).toBe('string')
    expect(typeof payload.auth_time).toBe('number')
    expect(payload.scope).toBeUndefined()
    expect(payload.client_id).toBeUndefined()
  })

  it('serves the same metadata at both discovery paths', async () => {
    const before = server.stats.discoveryRequests
    const metadata = async (path: string): Promise<Record<string, unknown>> => {
      const response = await fetch(`${server.issuer}${path}`)
      expect(response.status).toBe(200)
      return (await response.json()) as Record<string, unknown>
    }
    const oidc = await metadata('/.well-known/openid-configuration')
    const oauth = await metadata('/.well-known/oauth-authorization-server')
    expect(oauth).toEqual(oidc)
    expect(oidc).toMatchObject({
      issuer: server.issuer,
      jwks_uri: server.jwksUri,
      introspection_endpoint: `${server.issuer}/token/introspection`,
      revocation_endpoint: `${server.issuer}/token/revocation`,
    })
    expect(oidc.scopes_supported).toEqual(expect.arrayContaining([...DEMO_SCOPES]))
    expect(oidc.grant_types_supported).toEqual(expect.arrayContaining(['client_credentials']))
    expect(server.stats.discoveryRequests - before).toBe(2)
  })
})

describe('local authorization server: keys', () => {
  it('rotates: restarted on the same port with a new key first, it signs with the new key', async () => {
    const oldKeys = await generateSigningKeys()
    const first = await startAuthzServer({ keys: oldKeys })
    const { port, issuer } = first
    const oldToken = await first.token(DEMO_CLIENTS.reader)
    await first.stop()
    await first.stop() // idempotent

    const newKeys = await generateSigningKeys()
    const rotated = await startAuthzServer({
      keys: { keys: [...newKeys.keys, ...oldKeys.keys] },
      port,
    })
    try {
      expect(rotated.issuer).toBe(issuer)
      const published = await jwks(rotated)
      expect(published.keys.map((key) => key.kid)).toEqual(
        [...newKeys.keys, ...oldKeys.keys].map((key) => key.kid),
      )
      expect(published.keys.every((key) => key.d === undefined)).toBe(true)

      const newToken = await rotated.token(DEMO_CLIENTS.reader)
      expect(decodeProtectedHeader(newToken).kid).toBe(kidOf(newKeys, 'RSA'))
      expect(decodeProtectedHeader(oldToken).kid).toBe(kidOf(oldKeys, 'RSA'))
      const esToken = await rotated.token(DEMO_CLIENTS.esReader)
      expect(decodeProtectedHeader(esToken).kid).toBe(kidOf(newKeys, 'EC'))

      const keySet = createRemoteJWKSet(new URL(rotated.jwksUri))
      for (const token of [oldToken, newToken, esToken]) {
        await expect(
          jwtVerify(token, keySet, { issuer, audience: ITEMS_API }),
        ).resolves.toBeDefined()
      }
    } finally {
      await rotated.stop()
    }
  })

  it('refuses a key set without an ES256 key, saying what to add', async () => {
    const { keys } = await generateSigningKeys()
    await expect(
      startAuthzServer({ keys: { keys: keys.filter((key) => key.kty === 'RSA') } }),
    ).rejects.toThrow(/no ES256 key/)
  })

  it('frees its port on stop', async () => {
    const server = await startAuthzServer()
    await server.stop()
    await expect(fetch(server.jwksUri)).rejects.toThrow()
  })
})
