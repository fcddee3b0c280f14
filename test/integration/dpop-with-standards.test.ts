/**
 * DPoP (RFC 9449) together with the other standards scopeguard implements: a token bound both
 * to a DPoP key and to a client certificate (RFC 8705) needs both proofs, `DPoP` challenges
 * name the RFC 9728 metadata document, and a reused bearer token is still answered
 * synchronously from the cache while DPoP is on. Real HTTP servers on both adapters, real
 * keys and certificates, tokens signed with a real key.
 */
import { X509Certificate } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { calculateJwkThumbprint, type JWK } from 'jose'
import {
  createGuard,
  DEFAULT_DPOP_ALGORITHMS,
  type Decision,
  type DecisionEvent,
  type ScopeguardOptions,
} from '@scopeguard/core'
import { ADAPTERS, startExpressApi, type TestApi } from '../support/apps.js'
import { issueTestCertificates, type TestCertificates } from '../support/certificates.js'
import { handProof, strangerKey, type KeyPair } from '../support/dpop-kit.js'
import { send, type RawResponse } from '../support/http.js'
import {
  AUDIENCE,
  createStaticSigner,
  ISSUER,
  type StaticSigner,
} from '../support/static-signer.js'

const METADATA = `${AUDIENCE}/.well-known/oauth-protected-resource`
const ALGS = DEFAULT_DPOP_ALGORITHMS.join(' ')
/** The `DPoP` challenge in `allowed` mode, with `resource_metadata` on both schemes. */
const dpopChallenge = (error: string): string =>
  `DPoP realm="api", algs="${ALGS}", error="${error}", resource_metadata="${METADATA}", ` +
  `Bearer realm="api", resource_metadata="${METADATA}"`

let certs: TestCertificates
let signer: StaticSigner
let key: { keyPair: KeyPair; publicJwk: JWK; jkt: string }

/** `x5t#S256` computed apart from scopeguard: the DER's SHA-256 as X509Certificate reports it. */
function thumbprintOf(pem: string): string {
  const hex = new X509Certificate(pem).fingerprint256.replaceAll(':', '')
  return Buffer.from(hex, 'hex').toString('base64url')
}

beforeAll(async () => {
  certs = issueTestCertificates()
  signer = await createStaticSigner()
  const { keyPair, publicJwk } = await strangerKey()
  key = { keyPair, publicJwk, jkt: await calculateJwkThumbprint(publicJwk, 'sha256') }
})

/** A token bound to the DPoP key and to alice's certificate. */
const doublyBound = (): Promise<string> =>
  signer.sign({ cnf: { jkt: key.jkt, 'x5t#S256': thumbprintOf(certs.alice.cert) } })

/** GET /items with the token under `scheme`, a fresh proof (unless `proof: false`) and a certificate. */
async function get(
  api: TestApi,
  token: string,
  {
    scheme = 'DPoP',
    proof = true,
    certificate,
  }: { scheme?: string; proof?: boolean; certificate?: string } = {},
): Promise<RawResponse> {
  const url = `${api.url}/items`
  const headers: [string, string][] = [['Authorization', `${scheme} ${token}`]]
  if (proof) {
    const signed = await handProof(key.keyPair, key.publicJwk, { htm: 'GET', htu: url, token })
    headers.push(['DPoP', signed])
  }
  if (certificate !== undefined) headers.push(['X-Client-Cert', encodeURIComponent(certificate)])
  return send(url, { headers })
}

describe.each(ADAPTERS)('%s adapter: DPoP with mTLS and RFC 9728', (_name, startApi) => {
  let api: TestApi
  const events: DecisionEvent[] = []
  beforeAll(async () => {
    api = await startApi({
      issuer: ISSUER,
      resource: AUDIENCE,
      keys: signer.keys,
      mtls: { certificateHeader: 'x-client-cert' },
      onEvent: (event) => void (event.type === 'decision' && events.push(event)),
    })
    return () => api.close()
  })

  it('accepts a token bound to a DPoP key and a certificate only with a proof and the certificate', async () => {
    const token = await doublyBound()
    expect((await get(api, token, { certificate: certs.alice.cert })).status).toBe(200)

    events.length = 0
    const noCertificate = await get(api, token)
    const otherCertificate = await get(api, token, { certificate: certs.bob.cert })
    const noProof = await get(api, token, { proof: false, certificate: certs.alice.cert })
    const asBearer = await get(api, token, { scheme: 'Bearer', certificate: certs.alice.cert })
    for (const refused of [noCertificate, otherCertificate, noProof, asBearer])
      expect(refused.status).toBe(401)
    // A caller that proved its key is answered with the DPoP scheme, certificate failures too.
    expect(noCertificate.headers['www-authenticate']).toBe(dpopChallenge('invalid_token'))
    expect(otherCertificate.headers['www-authenticate']).toBe(dpopChallenge('invalid_token'))
    expect(noProof.headers['www-authenticate']).toBe(dpopChallenge('invalid_dpop_proof'))
    expect(asBearer.headers['www-authenticate']).toBe(
      `Bearer realm="api", error="invalid_token", resource_metadata="${METADATA}"`,
    )
    await api.flush()
    expect(events.map((event) => event.rejection)).toEqual([
      'certificate_missing',
      'certificate_mismatch',
      'dpop_proof_missing',
      'key_bound',
    ])
  })

  it('names the metadata document in DPoP challenges and lists DPoP in it', async () => {
    const unbound = await signer.sign({})
    const response = await get(api, unbound) // the DPoP scheme with a token bound to no key
    expect(response.status).toBe(401)
    expect(response.headers['www-authenticate']).toBe(dpopChallenge('invalid_token'))
    const document = JSON.parse(
      (await send(`${api.url}/.well-known/oauth-protected-resource`)).body,
    ) as Record<string, unknown>
    expect(document['dpop_signing_alg_values_supported']).toEqual([...DEFAULT_DPOP_ALGORITHMS])
    expect(document).not.toHaveProperty('dpop_bound_access_tokens_required')
  })
})

describe('a token bound both ways, where only one binding is checked', () => {
  const rejections = async (options: Partial<ScopeguardOptions>): Promise<unknown[]> => {
    const events: DecisionEvent[] = []
    const api = await startExpressApi({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: signer.keys,
      onEvent: (event) => void (event.type === 'decision' && events.push(event)),
      ...options,
    })
    try {
      const token = await doublyBound()
      const statuses = [
        (await get(api, token, { certificate: certs.alice.cert })).status,
        (await get(api, token, { scheme: 'Bearer', certificate: certs.alice.cert })).status,
      ]
      expect(statuses).toEqual([401, 401])
      await api.flush()
      return events.map((event) => event.rejection)
    } finally {
      await api.close()
    }
  }

  it('is refused with mTLS but DPoP disabled', async () => {
    // With DPoP disabled the DPoP scheme counts as no token (token_missing, no rejection).
    expect(
      await rejections({
        mtls: { certificateHeader: 'x-client-cert' },
        dpop: { mode: 'disabled' },
      }),
    ).toEqual([undefined, 'key_bound'])
  })

  it('is refused with DPoP but no mTLS', async () => {
    expect(await rejections({})).toEqual(['key_bound', 'key_bound'])
  })
})

describe('the cached bearer path with DPoP on', () => {
  it('answers a reused bearer token synchronously, and a DPoP request with a promise', async () => {
    const guard = createGuard({ issuer: ISSUER, audience: AUDIENCE, keys: signer.keys })
    try {
      const bearerRequest = (token: string): Parameters<typeof guard.authenticate>[0] => ({
        method: 'GET',
        path: '/items',
        headers: { authorization: `Bearer ${token}` },
      })
      const plain = await signer.sign({})
      const first = guard.authenticate(bearerRequest(plain))
      expect(first).toBeInstanceOf(Promise)
      expect((await first).allowed).toBe(true)
      const reused = guard.authenticate(bearerRequest(plain))
      expect(reused).not.toBeInstanceOf(Promise)
      expect((reused as Decision).allowed).toBe(true)

      const bound = await signer.sign({ cnf: { jkt: key.jkt } })
      const url = 'https://items-api.scopeguard.test/items'
      const dpopRequest = async (): Promise<Parameters<typeof guard.authenticate>[0]> => ({
        method: 'GET',
        path: '/items',
        url,
        headers: {
          authorization: `DPoP ${bound}`,
          dpop: await handProof(key.keyPair, key.publicJwk, { htm: 'GET', htu: url, token: bound }),
        },
      })
      expect((await guard.authenticate(await dpopRequest())).allowed).toBe(true)
      // Cached now: the proof is still checked on every request, so the answer is a promise.
      const again = guard.authenticate(await dpopRequest())
      expect(again).toBeInstanceOf(Promise)
      expect((await again).allowed).toBe(true)
      // The same cached token as a bearer token is refused at once, without a proof to check.
      const stolen = guard.authenticate(bearerRequest(bound))
      expect(stolen).not.toBeInstanceOf(Promise)
      expect(stolen as Decision).toMatchObject({ allowed: false, rejection: 'key_bound' })
    } finally {
      await guard.close()
    }
  })
})
