/**
 * RFC 9728 protected resource metadata and RFC 8707 audience binding, on both adapters over
 * real HTTP: the document's members (checked against the members RFC 9728 §2 defines), its
 * `resource` equality (§3.3), the path-suffixed well-known URI (§3.1), the
 * `resource_metadata` challenge parameter (§5.1) on 401 and 403, and a client that follows
 * it from a 401 to the real authorization server, gets a token there and gets in.
 */
import { createRequire } from 'node:module'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  DEMO_CLIENTS,
  ITEMS_API,
  startAuthzServer,
  type AuthzServer,
} from '@scopeguard-examples/authz-server'
import {
  createGuard,
  DEFAULT_DPOP_ALGORITHMS,
  ScopeguardConfigError,
  type ScopeguardOptions,
} from '@scopeguard/core'
import * as sgExpress from '@scopeguard/express'
import { SERVED_ADAPTERS, sendTls, type ServedApi } from '../support/served-apps.js'
import { createStaticSigner, ISSUER, type StaticSigner } from '../support/static-signer.js'

// ajv and openid-client are dependencies of @scopeguard/core, not of the workspace root.
const requireFromCore = createRequire(new URL('../../packages/core/package.json', import.meta.url))
interface AjvInstance {
  compile(schema: object): ((data: unknown) => boolean) & { errors?: unknown }
}
const Ajv = (
  requireFromCore('ajv') as { default: new (options: Record<string, unknown>) => AjvInstance }
).default
interface OpenIdClient {
  discovery(
    server: URL,
    clientId: string,
    metadata: undefined,
    auth: unknown,
    options: { execute: unknown[]; algorithm: 'oauth2' },
  ): Promise<{ serverMetadata(): { issuer: string; token_endpoint?: string } }>
  clientCredentialsGrant(
    config: unknown,
    parameters: Record<string, string>,
  ): Promise<{ access_token: string }>
  ClientSecretBasic(secret: string): unknown
  allowInsecureRequests: unknown
}
const oidc = (await import(
  pathToFileURL(requireFromCore.resolve('openid-client')).href
)) as OpenIdClient

/** The members RFC 9728 §2 defines, with their types; nothing else is allowed. */
const RFC9728_DOCUMENT = {
  type: 'object',
  additionalProperties: false,
  required: ['resource'],
  properties: {
    resource: { type: 'string', format: 'uri' },
    authorization_servers: { type: 'array', items: { type: 'string' } },
    jwks_uri: { type: 'string' },
    scopes_supported: { type: 'array', items: { type: 'string' } },
    bearer_methods_supported: {
      type: 'array',
      items: { enum: ['header', 'body', 'query'] },
      uniqueItems: true,
    },
    resource_signing_alg_values_supported: { type: 'array', items: { type: 'string' } },
    resource_name: { type: 'string' },
    resource_documentation: { type: 'string' },
    resource_policy_uri: { type: 'string' },
    resource_tos_uri: { type: 'string' },
    tls_client_certificate_bound_access_tokens: { type: 'boolean' },
    authorization_details_types_supported: { type: 'array', items: { type: 'string' } },
    dpop_signing_alg_values_supported: { type: 'array', items: { type: 'string' } },
    dpop_bound_access_tokens_required: { type: 'boolean' },
    signed_metadata: { type: 'string' },
  },
}
const validateDocument = new Ajv({ allErrors: true, strict: false }).compile(RFC9728_DOCUMENT)

const CATALOG = { 'read:items': {}, 'write:items': { implies: ['read:items'] } }
const POLICY = {
  version: 1 as const,
  scopes: CATALOG,
  routes: {
    'GET /items': 'read:items',
    'POST /items': 'write:items',
    'POST /transfers': { require: 'read:items', acr: ['phr'] },
  },
}
const WELL_KNOWN = '/.well-known/oauth-protected-resource'

/** The parameters of a `Bearer` challenge (RFC 6750 §3: auth-params, quoted values). */
function challengeParams(header: unknown): Record<string, string> {
  expect(typeof header).toBe('string')
  const text = header as string
  expect(text.startsWith('Bearer ')).toBe(true)
  const params: Record<string, string> = {}
  for (const match of text.slice(7).matchAll(/([a-z_]+)="([^"]*)"/g))
    params[match[1] as string] = match[2] as string
  return params
}

let authz: AuthzServer
let signer: StaticSigner

beforeAll(async () => {
  ;[authz, signer] = await Promise.all([startAuthzServer(), createStaticSigner()])
})
afterAll(() => authz.stop())

describe.each(SERVED_ADAPTERS)('%s adapter: RFC 9728 protected resource metadata', (_n, start) => {
  let api: ServedApi
  beforeAll(async () => {
    // The API's own URL is its resource identifier; the authorization server issues its
    // tokens for the items API's resource indicator, so both are given (see docs/standards.md).
    api = await start((url) => ({
      issuer: authz.issuer,
      resource: url,
      audience: [url, ITEMS_API],
      policy: POLICY,
      queryToken: true,
      resourceMetadata: {
        resourceName: 'Items API',
        resourceDocumentation: 'https://docs.scopeguard.test/items',
      },
    }))
    return () => api.close()
  })

  it('serves a document with the members RFC 9728 §2 defines, built from the options', async () => {
    const response = await sendTls(`${api.url}${WELL_KNOWN}`)
    expect(response.status).toBe(200)
    expect(response.headers['content-type']).toMatch(/^application\/json/)
    expect(response.headers['cache-control']).toBe('public, max-age=3600')
    const document = JSON.parse(response.body) as Record<string, unknown>
    expect(validateDocument(document), JSON.stringify(validateDocument.errors)).toBe(true)
    expect(document).toEqual({
      resource: api.url,
      authorization_servers: [authz.issuer],
      scopes_supported: ['read:items', 'write:items'],
      bearer_methods_supported: ['header', 'query'],
      resource_name: 'Items API',
      resource_documentation: 'https://docs.scopeguard.test/items',
      // DPoP is `allowed` by default (RFC 9449): the document lists the accepted proof algorithms.
      dpop_signing_alg_values_supported: [...DEFAULT_DPOP_ALGORITHMS],
    })
    expect(api.resourceMetadata()).toEqual(document)

    const head = await sendTls(`${api.url}${WELL_KNOWN}`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.body).toBe('')
    expect(head.headers['content-length']).toBe(String(Buffer.byteLength(response.body)))
    const post = await sendTls(`${api.url}${WELL_KNOWN}`, { method: 'POST' })
    expect(post.status).toBe(405)
    expect(post.headers['allow']).toBe('GET, HEAD')
  })

  it('names the document in every challenge, 401 and 403', async () => {
    const url = `${api.url}${WELL_KNOWN}`
    const missing = await sendTls(`${api.url}/items`)
    expect(missing.status).toBe(401)
    expect(missing.headers['www-authenticate']).toBe(
      `Bearer realm="api", resource_metadata="${url}"`,
    )
    const invalid = await sendTls(`${api.url}/items`, {
      headers: { authorization: 'Bearer not.a.token' },
    })
    expect(invalid.headers['www-authenticate']).toBe(
      `Bearer realm="api", error="invalid_token", resource_metadata="${url}"`,
    )
    const reader = await authz.token(DEMO_CLIENTS.reader)
    const forbidden = await sendTls(`${api.url}/items`, {
      method: 'POST',
      headers: { authorization: `Bearer ${reader}` },
    })
    expect(forbidden.status).toBe(403)
    expect(forbidden.headers['www-authenticate']).toBe(
      `Bearer realm="api", error="insufficient_scope", scope="write:items", resource_metadata="${url}"`,
    )
    const stepUp = await sendTls(`${api.url}/transfers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${reader}` },
    })
    expect(stepUp.status).toBe(401)
    expect(stepUp.headers['www-authenticate']).toBe(
      'Bearer realm="api", error="insufficient_user_authentication", ' +
        `error_description="A different authentication level is required", acr_values="phr", resource_metadata="${url}"`,
    )
  })

  it('leads a client from a 401 to the authorization server, and its token gets in', async () => {
    const resource = api.url // what the client set out to call
    const first = await sendTls(`${resource}/items`)
    const { resource_metadata: metadataUrl } = challengeParams(first.headers['www-authenticate'])
    expect(metadataUrl).toBeDefined()
    const document = (await (await fetch(metadataUrl as string)).json()) as {
      resource: string
      authorization_servers: string[]
    }
    // RFC 9728 §3.3: the client must check that the document is about the resource it called.
    expect(document.resource).toBe(resource)
    const server = new URL(document.authorization_servers[0] as string)
    const config = await oidc.discovery(
      server,
      DEMO_CLIENTS.reader.clientId,
      undefined,
      oidc.ClientSecretBasic(DEMO_CLIENTS.reader.clientSecret),
      { execute: [oidc.allowInsecureRequests], algorithm: 'oauth2' },
    )
    expect(config.serverMetadata().issuer).toBe(authz.issuer)
    const { access_token } = await oidc.clientCredentialsGrant(config, {
      scope: 'read:items',
      resource: ITEMS_API,
    })
    const second = await sendTls(`${resource}/items`, {
      headers: { authorization: `Bearer ${access_token}` },
    })
    expect(second.status).toBe(200)
    expect(JSON.parse(second.body)).toMatchObject({ clientId: DEMO_CLIENTS.reader.clientId })
  })
})

describe.each(SERVED_ADAPTERS)('%s adapter: resource identifiers', (_n, start) => {
  it('serves the path-suffixed well-known URI of a resource with a path (RFC 9728 §3.1)', async () => {
    const api = await start((url) => ({
      issuer: ISSUER,
      keys: signer.keys,
      resource: `${url}/v1`,
      policy: POLICY,
    }))
    try {
      const suffixed = await sendTls(`${api.url}${WELL_KNOWN}/v1`)
      expect(suffixed.status).toBe(200)
      expect(JSON.parse(suffixed.body)).toMatchObject({ resource: `${api.url}/v1` })
      expect((await sendTls(`${api.url}${WELL_KNOWN}`)).status).toBe(200)
      const missing = await sendTls(`${api.url}/items`)
      expect(challengeParams(missing.headers['www-authenticate']).resource_metadata).toBe(
        `${api.url}${WELL_KNOWN}/v1`,
      )
    } finally {
      await api.close()
    }
  })

  it('takes the audience from the resource when none is given (RFC 8707)', async () => {
    const api = await start((url) => ({
      issuer: ISSUER,
      keys: signer.keys,
      resource: url,
      policy: POLICY,
    }))
    try {
      const get = async (aud: unknown): Promise<number> =>
        (
          await sendTls(`${api.url}/items`, {
            headers: { authorization: `Bearer ${await signer.sign({ aud })}` },
          })
        ).status
      expect(await get(api.url)).toBe(200)
      expect(await get([ITEMS_API, api.url])).toBe(200)
      expect(await get(ITEMS_API)).toBe(401)
      expect(await get(`${api.url}/`)).toBe(401) // identifiers compare as strings
    } finally {
      await api.close()
    }
  })

  it('rebuilds the document when a policy reload changes the catalog', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scopeguard-rfc9728-'))
    const file = join(dir, 'policy.json')
    writeFileSync(file, JSON.stringify(POLICY))
    const api = await start((url) => ({
      issuer: ISSUER,
      keys: signer.keys,
      resource: url,
      policy: { file, watch: false },
    }))
    try {
      const scopes = async (): Promise<unknown> =>
        (JSON.parse((await sendTls(`${api.url}${WELL_KNOWN}`)).body) as Record<string, unknown>)
          .scopes_supported
      expect(await scopes()).toEqual(['read:items', 'write:items'])
      writeFileSync(file, JSON.stringify({ ...POLICY, scopes: { ...CATALOG, 'delete:items': {} } }))
      await api.reloadPolicy()
      expect(await scopes()).toEqual(['read:items', 'write:items', 'delete:items'])
    } finally {
      await api.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('serves nothing and adds no parameter with resourceMetadata: false', async () => {
    const api = await start((url) => ({
      issuer: ISSUER,
      keys: signer.keys,
      resource: url,
      resourceMetadata: false,
      policy: POLICY,
    }))
    try {
      expect((await sendTls(`${api.url}${WELL_KNOWN}`)).status).toBe(401) // an ordinary, unmapped path
      const missing = await sendTls(`${api.url}/items`)
      expect(missing.headers['www-authenticate']).toBe('Bearer realm="api"')
      expect(api.resourceMetadata()).toBeUndefined()
    } finally {
      await api.close()
    }
  })
})

describe('resource options', () => {
  const base: ScopeguardOptions = { issuer: ISSUER }
  it.each([
    ['a fragment', 'https://api.example.com/#x', /no query and no fragment/],
    ['a query', 'https://api.example.com/?v=1', /no query and no fragment/],
    ['plain http on a public host', 'http://api.example.com', /plain http/],
    ['not a URL', 'api', /not a valid URL/],
  ])('refuses a resource with %s', (_what, resource, message) => {
    expect(() => sgExpress.scopeguard({ ...base, resource })).toThrow(message)
  })

  it('lists the enabled bearer methods and certificate binding in the document', async () => {
    const guard = createGuard({
      issuer: ISSUER,
      resource: 'https://api.example.com/v1',
      formToken: true,
      mtls: {},
      resourceMetadata: { scopesSupported: ['read:items'], maxAge: 60 },
    })
    try {
      expect(guard.resourceMetadata()).toEqual({
        resource: 'https://api.example.com/v1',
        authorization_servers: [ISSUER],
        scopes_supported: ['read:items'],
        bearer_methods_supported: ['header', 'body'],
        tls_client_certificate_bound_access_tokens: true,
        dpop_signing_alg_values_supported: [...DEFAULT_DPOP_ALGORITHMS],
      })
      expect(guard.metadataEndpoint?.url).toBe(
        'https://api.example.com/.well-known/oauth-protected-resource/v1',
      )
      expect(guard.metadataEndpoint?.respond('GET').headers['cache-control']).toBe(
        'public, max-age=60',
      )
    } finally {
      await guard.close()
    }
  })

  it('lists DPoP (RFC 9449) from the resolved dpop option: algorithms, and required', async () => {
    const documentWith = async (
      dpop: ScopeguardOptions['dpop'],
    ): Promise<Record<string, unknown> | undefined> => {
      const guard = createGuard({ issuer: ISSUER, resource: 'https://api.example.com', dpop })
      try {
        return guard.resourceMetadata() as Record<string, unknown> | undefined
      } finally {
        await guard.close()
      }
    }
    const required = await documentWith({ mode: 'required', algorithms: ['ES256', 'EdDSA'] })
    expect(validateDocument(required), JSON.stringify(validateDocument.errors)).toBe(true)
    expect(required).toMatchObject({
      dpop_signing_alg_values_supported: ['ES256', 'EdDSA'],
      dpop_bound_access_tokens_required: true,
    })
    const allowed = await documentWith({ algorithms: ['PS256'] })
    expect(allowed?.['dpop_signing_alg_values_supported']).toEqual(['PS256'])
    expect(allowed).not.toHaveProperty('dpop_bound_access_tokens_required')
    const disabled = await documentWith({ mode: 'disabled', algorithms: ['ES256'] })
    expect(disabled).not.toHaveProperty('dpop_signing_alg_values_supported')
    expect(disabled).not.toHaveProperty('dpop_bound_access_tokens_required')
  })

  it('needs audience or resource, and resource for resourceMetadata', () => {
    expect(() => sgExpress.scopeguard(base)).toThrow(/or give resource/)
    expect(() =>
      sgExpress.scopeguard({ ...base, audience: 'https://api.example.com', resourceMetadata: {} }),
    ).toThrow(/resourceMetadata needs resource/)
    expect(() =>
      sgExpress.scopeguard({
        ...base,
        resource: 'https://api.example.com',
        resourceMetadata: { authorizationServers: ['http://auth.example.com'] },
      }),
    ).toThrow(ScopeguardConfigError)
  })
})
