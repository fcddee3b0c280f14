import { hash, randomUUID } from 'node:crypto'
import * as client from 'openid-client'
import { base64url, exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose'
import { ITEMS_API, type AuthzServer, type DemoClient } from '@scopeguard-examples/authz-server'

/** A DPoP key pair, as openid-client makes and takes it. */
export type KeyPair = Awaited<ReturnType<typeof client.randomDPoPKeyPair>>

/** One request a DPoP client sent, as it went out and as it was answered. */
export interface SentRequest {
  readonly url: string
  readonly method: string
  readonly authorization: string | undefined
  readonly dpop: string | undefined
  readonly status: number
  readonly wwwAuthenticate: string | null
  readonly dpopNonce: string | null
}

/**
 * A client of the local authorization server that uses DPoP through openid-client (a real
 * client library): its token is bound to its own key (`cnf.jkt`), and its requests carry
 * proofs that openid-client makes, retrying once on `use_dpop_nonce` (RFC 9449 §8, §9).
 */
export interface DpopClient {
  /** The DPoP-bound access token (token_type `dpop`). */
  readonly token: string
  /** The proof key pair (the public key's thumbprint is the token's `cnf.jkt`). */
  readonly keyPair: KeyPair
  readonly publicJwk: JWK
  /** Every request sent to a protected resource so far, in order. */
  readonly sent: SentRequest[]
  /**
   * One request through openid-client's fetchProtectedResource (DPoP nonce retry included).
   * With `via` (`http://127.0.0.1:port`), the request for `url`'s origin is sent there, as a
   * load balancer in front of several instances would: the proof still names `url`.
   */
  fetch(url: string, method?: string, via?: string): Promise<Response>
}

/**
 * Gets a DPoP-bound token for `demo` from the server with openid-client's DPoP support, and
 * returns a client that makes requests with proofs of the same key.
 *
 * @example
 * const reader = await dpopClient(authz, DEMO_CLIENTS.reader)
 * const response = await reader.fetch(`${api.url}/items`)
 */
export async function dpopClient(
  authz: AuthzServer,
  demo: DemoClient,
  { alg = 'ES256', resource = ITEMS_API }: { alg?: string; resource?: string } = {},
): Promise<DpopClient> {
  const config = await client.discovery(
    new URL(authz.issuer),
    demo.clientId,
    undefined,
    client.ClientSecretBasic(demo.clientSecret),
    { execute: [client.allowInsecureRequests] },
  )
  const sent: SentRequest[] = []
  // Where requests to the public origin really go, like a load balancer (see `fetch`).
  let route: { origin: string; to: string } | undefined
  config[client.customFetch] = async (url, options) => {
    const target =
      route !== undefined && url.startsWith(route.origin)
        ? route.to + url.slice(route.origin.length)
        : url
    const response = await fetch(target, options as RequestInit)
    const headers = new Headers(options.headers as ConstructorParameters<typeof Headers>[0])
    if (url.startsWith(authz.issuer)) return response
    sent.push({
      url,
      method: options.method,
      authorization: headers.get('authorization') ?? undefined,
      dpop: headers.get('dpop') ?? undefined,
      status: response.status,
      wwwAuthenticate: response.headers.get('www-authenticate'),
      dpopNonce: response.headers.get('dpop-nonce'),
    })
    return response
  }
  const keyPair = await client.randomDPoPKeyPair(alg)
  const handle = client.getDPoPHandle(config, keyPair)
  const answer = await client.clientCredentialsGrant(
    config,
    { scope: demo.scopes.join(' '), resource },
    { DPoP: handle },
  )
  if (answer.token_type !== 'dpop')
    throw new Error(`expected a DPoP token, got ${answer.token_type}`)
  return {
    token: answer.access_token,
    keyPair,
    publicJwk: await exportJWK(keyPair.publicKey),
    sent,
    async fetch(url, method = 'GET', via) {
      route = via === undefined ? undefined : { origin: new URL(url).origin, to: via }
      try {
        return await client.fetchProtectedResource(
          config,
          answer.access_token,
          new URL(url),
          method,
          undefined,
          undefined,
          { DPoP: handle },
        )
      } finally {
        route = undefined
      }
    },
  }
}

/** `ath` of a token: base64url(SHA-256(token)) (RFC 9449 §4.2). */
export function accessTokenHash(token: string): string {
  return hash('sha256', token, 'base64url')
}

/** What a hand-made proof says; anything left out gets the right value for the request. */
export interface ProofClaims {
  htm: string
  htu: string
  /** The token whose `ath` to include, or `ath` itself through `claims`. */
  token?: string
  iat?: number
  jti?: string | undefined
  nonce?: string
  /** Extra or replaced payload members (`undefined` removes one). */
  claims?: Record<string, unknown>
  /** Extra or replaced header members. */
  header?: Record<string, unknown>
}

/**
 * A DPoP proof signed with jose (for the negative cases: real signatures, wrong contents).
 *
 * @example
 * const proof = await handProof(reader.keyPair, reader.publicJwk, { htm: 'POST', htu, token })
 */
export async function handProof(
  keyPair: KeyPair,
  publicJwk: JWK,
  proof: ProofClaims,
  alg = 'ES256',
): Promise<string> {
  return new SignJWT(payloadOf(proof))
    .setProtectedHeader({ alg, typ: 'dpop+jwt', jwk: publicJwk, ...proof.header })
    .sign(keyPair.privateKey)
}

/** An unsigned proof (`alg: none`), or any header, with an empty signature part. */
export function unsignedProof(publicJwk: JWK, proof: ProofClaims): string {
  const header = { alg: 'none', typ: 'dpop+jwt', jwk: publicJwk, ...proof.header }
  return `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(payloadOf(proof)))}.`
}

/** An HS256 proof (symmetric: never accepted), with `secret` as the key. */
export function hmacProof(publicJwk: JWK, proof: ProofClaims, secret: Uint8Array): Promise<string> {
  return new SignJWT(payloadOf(proof))
    .setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: publicJwk, ...proof.header })
    .sign(secret)
}

/** A fresh key pair with its public JWK, for proofs by a key the token is not bound to. */
export async function strangerKey(alg = 'ES256'): Promise<{ keyPair: KeyPair; publicJwk: JWK }> {
  const keyPair = (await generateKeyPair(alg, { extractable: true })) as unknown as KeyPair
  return { keyPair, publicJwk: await exportJWK(keyPair.publicKey) }
}

function payloadOf(proof: ProofClaims): Record<string, unknown> {
  const payload: Record<string, unknown> = {
    jti: 'jti' in proof ? proof.jti : randomUUID(),
    htm: proof.htm,
    htu: proof.htu,
    iat: proof.iat ?? Math.floor(Date.now() / 1000),
    ...(proof.token === undefined ? {} : { ath: accessTokenHash(proof.token) }),
    ...(proof.nonce === undefined ? {} : { nonce: proof.nonce }),
    ...proof.claims,
  }
  for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name]
  return payload
}
