/**
 * RFC 8705 §3 certificate-bound access tokens: a token with `cnf["x5t#S256"]` works only on a
 * request whose client certificate has that thumbprint. Real TLS servers that request client
 * certificates, real certificates issued by openssl, tokens signed with a real key.
 */
import { X509Certificate } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeJwt } from 'jose'
import {
  DEMO_CLIENTS,
  ITEMS_API,
  LEGACY_API,
  RESOURCE_SERVER,
  startAuthzServer,
  type AuthzServer,
} from '@scopeguard-examples/authz-server'
import { ScopeguardConfigError, type DecisionEvent, type ScopeguardOptions } from '@scopeguard/core'
import * as sgExpress from '@scopeguard/express'
import { schemaVerdict } from '../support/events-schema.js'
import { issueTestCertificates, type TestCertificates } from '../support/certificates.js'
import {
  SERVED_ADAPTERS,
  sendTls,
  type ServedApi,
  type StartServedApi,
} from '../support/served-apps.js'
import {
  AUDIENCE,
  createStaticSigner,
  ISSUER,
  type StaticSigner,
} from '../support/static-signer.js'

const POLICY: ScopeguardOptions['policy'] = {
  version: 1,
  scopes: { 'read:items': {} },
  routes: { 'GET /items': 'read:items' },
}

let certs: TestCertificates
let signer: StaticSigner
let authz: AuthzServer

/** `x5t#S256` computed apart from scopeguard: the DER's SHA-256 as X509Certificate reports it. */
function thumbprintOf(pem: string): string {
  const hex = new X509Certificate(pem).fingerprint256.replaceAll(':', '')
  return Buffer.from(hex, 'hex').toString('base64url')
}

const bound = (pem: string, claims: Record<string, unknown> = {}): Promise<string> =>
  signer.sign({ cnf: { 'x5t#S256': thumbprintOf(pem) }, ...claims })

beforeAll(async () => {
  certs = issueTestCertificates()
  ;[signer, authz] = await Promise.all([createStaticSigner(), startAuthzServer()])
})
afterAll(() => authz.stop())

const TLS_SERVER = (): Parameters<StartServedApi>[1] => ({
  key: certs.server.key,
  cert: certs.server.cert,
  ca: certs.ca,
  requestCert: true,
  // RFC 8705 §2.2: self-signed client certificates are allowed; the binding is checked.
  rejectUnauthorized: false,
})

describe.each(SERVED_ADAPTERS)('%s adapter: certificate-bound tokens over TLS', (_name, start) => {
  const started = async (
    extra: Partial<ScopeguardOptions>,
    events: DecisionEvent[] = [],
  ): Promise<ServedApi> =>
    start(
      () => ({
        issuer: ISSUER,
        audience: AUDIENCE,
        keys: signer.keys,
        policy: POLICY,
        onEvent: (event) => void (event.type === 'decision' && events.push(event)),
        ...extra,
      }),
      TLS_SERVER(),
    )
  const get = (api: ServedApi, token: string, certificate?: { key: string; cert: string }) =>
    sendTls(`${api.url}/items`, {
      ca: certs.ca,
      certificate,
      headers: { authorization: `Bearer ${token}` },
    })

  it('accepts the token only with the certificate it is bound to, on every request', async () => {
    const events: DecisionEvent[] = []
    const api = await started({ mtls: {} }, events)
    try {
      const token = await bound(certs.alice.cert)
      const ok = await get(api, token, certs.alice)
      expect(ok.status).toBe(200)
      expect(JSON.parse(ok.body)).toMatchObject({
        thumbprint: thumbprintOf(certs.alice.cert),
      })
      // The verified token is cached now: the binding is still checked per request.
      const stolen = await get(api, token, certs.bob)
      expect(stolen.status).toBe(401)
      expect(stolen.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"')
      const bare = await get(api, token)
      expect(bare.status).toBe(401)
      expect(bare.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"')
      expect((await get(api, token, certs.alice)).status).toBe(200)
      expect(api.stats().jwtVerifications).toBe(1)
      await api.flush()
      expect(events.filter((e) => !e.allowed).map((e) => e.rejection)).toEqual([
        'certificate_mismatch',
        'certificate_missing',
      ])
      expect(events.map(schemaVerdict)).toEqual(events.map(() => 'valid'))
    } finally {
      await api.close()
    }
  })

  it('accepts a self-signed client certificate (RFC 8705 §2.2) and plain bearer tokens', async () => {
    const api = await started({ mtls: {} })
    try {
      const selfBound = await bound(certs.selfSigned.cert)
      expect((await get(api, selfBound, certs.selfSigned)).status).toBe(200)
      expect((await get(api, selfBound, certs.alice)).status).toBe(401)
      // A token without cnf is an ordinary bearer token, with or without a certificate.
      const plain = await signer.sign({})
      expect((await get(api, plain, certs.alice)).status).toBe(200)
      expect((await get(api, plain)).status).toBe(200)
    } finally {
      await api.close()
    }
  })

  it('refuses certificate-bound tokens without the mtls option, and other confirmation methods', async () => {
    const events: DecisionEvent[] = []
    const off = await started({}, events)
    const on = await started({ mtls: {} }, events)
    try {
      const token = await bound(certs.alice.cert)
      expect((await get(off, token, certs.alice)).status).toBe(401)
      const jkt = await signer.sign({ cnf: { jkt: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs' } })
      expect((await get(on, jkt, certs.alice)).status).toBe(401)
      const both = await signer.sign({
        cnf: {
          'x5t#S256': thumbprintOf(certs.alice.cert),
          jkt: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs',
        },
      })
      expect((await get(on, both, certs.alice)).status).toBe(401)
      const garbled = await signer.sign({ cnf: { 'x5t#S256': 'not a thumbprint' } })
      expect((await get(on, garbled, certs.alice)).status).toBe(401)
      await Promise.all([off.flush(), on.flush()])
      expect(events.map((e) => e.rejection)).toEqual([
        'key_bound',
        'key_bound',
        'key_bound',
        'claim_invalid',
      ])
      expect(events.map(schemaVerdict)).toEqual(events.map(() => 'valid'))
    } finally {
      await Promise.all([off.close(), on.close()])
    }
  })
})

describe.each(SERVED_ADAPTERS)(
  '%s adapter: certificate-bound tokens of the real authorization server',
  (_name, start) => {
    const get = (api: ServedApi, token: string, certificate?: { key: string; cert: string }) =>
      sendTls(`${api.url}/items`, {
        ca: certs.ca,
        certificate,
        headers: { authorization: `Bearer ${token}` },
      }).then((response) => response.status)

    it('binds a JWT to the certificate of the token request (RFC 8705 §3.1)', async () => {
      const token = await authz.token(DEMO_CLIENTS.mtlsReader, { certificate: certs.alice.cert })
      expect(decodeJwt(token)['cnf']).toEqual({ 'x5t#S256': thumbprintOf(certs.alice.cert) })
      const api = await start(
        () => ({ issuer: authz.issuer, audience: ITEMS_API, policy: POLICY, mtls: {} }),
        TLS_SERVER(),
      )
      try {
        expect(await get(api, token, certs.alice)).toBe(200)
        expect(await get(api, token, certs.bob)).toBe(401)
        expect(await get(api, token)).toBe(401)
      } finally {
        await api.close()
      }
    })

    it('binds an opaque token, seen through introspection (RFC 8705 §3.2)', async () => {
      const token = await authz.token(DEMO_CLIENTS.mtlsReader, {
        certificate: certs.alice.cert,
        resource: LEGACY_API,
      })
      const api = await start(
        () => ({
          issuer: authz.issuer,
          audience: LEGACY_API,
          introspection: {
            clientId: RESOURCE_SERVER.clientId,
            clientSecret: RESOURCE_SERVER.clientSecret,
          },
          policy: POLICY,
          mtls: {},
        }),
        TLS_SERVER(),
      )
      try {
        expect(await get(api, token, certs.alice)).toBe(200)
        expect(await get(api, token, certs.bob)).toBe(401)
        expect(api.stats().introspections).toBe(1)
      } finally {
        await api.close()
      }
    })
  },
)

describe.each(SERVED_ADAPTERS)(
  '%s adapter: certificate forwarded by a trusted proxy',
  (_name, start) => {
    let api: ServedApi
    const events: DecisionEvent[] = []
    beforeAll(async () => {
      api = await start(() => ({
        issuer: ISSUER,
        audience: AUDIENCE,
        keys: signer.keys,
        policy: POLICY,
        mtls: { certificateHeader: 'x-client-cert' },
        onEvent: (event) => void (event.type === 'decision' && events.push(event)),
      }))
      return () => api.close()
    })
    const get = async (token: string, certificate?: string | string[]): Promise<number> =>
      (
        await sendTls(`${api.url}/items`, {
          headers: {
            authorization: `Bearer ${token}`,
            ...(certificate === undefined ? {} : { 'x-client-cert': certificate }),
          },
        })
      ).status
    const der = (pem: string): Buffer => new X509Certificate(pem).raw

    it('reads URL-encoded PEM (nginx $ssl_client_escaped_cert), RFC 9440 and base64 DER', async () => {
      const token = await bound(certs.alice.cert)
      expect(await get(token, encodeURIComponent(certs.alice.cert))).toBe(200)
      expect(await get(token, `:${der(certs.alice.cert).toString('base64')}:`)).toBe(200)
      expect(await get(token, der(certs.alice.cert).toString('base64'))).toBe(200)
      expect(await get(token, certs.alice.cert.replaceAll('\n', ' '))).toBe(200)
    })

    it('refuses another certificate, none, two, and an unreadable header', async () => {
      events.length = 0
      const token = await bound(certs.alice.cert)
      expect(await get(token, encodeURIComponent(certs.bob.cert))).toBe(401)
      expect(await get(token)).toBe(401)
      const alice = encodeURIComponent(certs.alice.cert)
      expect(await get(token, [alice, alice])).toBe(401)
      expect(await get(token, '%E0%A4%A')).toBe(401)
      await api.flush()
      expect(events.map((e) => e.rejection)).toEqual([
        'certificate_mismatch',
        'certificate_missing',
        'certificate_missing',
        'certificate_missing',
      ])
    })
  },
)

describe('mtls options', () => {
  it('refuses a header name that is not one, or one that carries other credentials', () => {
    for (const certificateHeader of ['X-Client-Cert', 'authorization', '', 'a b']) {
      expect(() =>
        sgExpress.scopeguard({ issuer: ISSUER, audience: AUDIENCE, mtls: { certificateHeader } }),
      ).toThrow(ScopeguardConfigError)
    }
    expect(() =>
      sgExpress.scopeguard({ issuer: ISSUER, audience: AUDIENCE, mtls: true as never }),
    ).toThrow(/mtls must be an object/)
  })
})
