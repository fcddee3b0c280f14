import type { JSONWebKeySet } from 'jose'
import type { AuditOptions } from './audit/create-auditor.js'
import type { Sink } from './audit/sink.js'
import type { Store } from './store/types.js'
import type { ScopeguardEvent } from './events.js'
import type { PolicyOption } from './policy/policy-source.js'
import type { ScopeSource } from './scopes/read-scopes.js'
import type { FetchLike } from './verify/fetch-json.js'

/** Options of a guard. Only `issuer` and `audience` are required. */
export interface ScopeguardOptions {
  /**
   * The authorization server(s) whose tokens are accepted, exactly as their tokens' `iss`.
   * Keys and the introspection endpoint are discovered from it (RFC 8414, then OpenID
   * Connect Discovery) unless given explicitly. `http:` only on loopback hosts.
   */
  issuer: string | readonly string[]
  /**
   * The identifier(s) of this API; a token must name one of them in `aud`. Required unless
   * `resource` is given, which is then the audience (RFC 8707). When both are given, only
   * `audience` is checked: list the resource identifier in it too if the authorization server
   * puts the resource indicator in `aud` (see docs/standards.md).
   */
  audience?: string | readonly string[]
  /**
   * This API's resource identifier (RFC 9728 §1.2, RFC 8707 §2): an `https:` URL (`http:` only
   * on loopback hosts) without query or fragment, e.g. `https://api.example.com`. It turns on
   * the protected resource metadata document (`resourceMetadata`), whose URL every
   * `WWW-Authenticate` challenge then names (`resource_metadata="…"`), and is the default
   * `audience`.
   */
  resource?: string
  /**
   * The RFC 9728 protected resource metadata that the middleware serves at
   * `/.well-known/oauth-protected-resource` (and the path-suffixed form of `resource`). On
   * when `resource` is set; `false` turns it (and the challenge parameter) off.
   */
  resourceMetadata?: false | ResourceMetadataOptions
  /**
   * Accept certificate-bound access tokens (RFC 8705 §3): a token with `cnf["x5t#S256"]` is
   * accepted only on a request whose client certificate has that SHA-256 thumbprint. The
   * certificate is the one of the TLS connection (the app's own `https` server with
   * `requestCert: true`), or, with `certificateHeader`, the one a trusted TLS-terminating
   * proxy forwards in that header. Off by default: certificate-bound tokens are refused.
   */
  mtls?: {
    /**
     * A request header (lower-case name) in which a trusted proxy forwards the client
     * certificate: RFC 9440 `Client-Cert` (`:base64 DER:`), URL-encoded PEM (nginx
     * `$ssl_client_escaped_cert`, AWS ALB), PEM, or base64 DER. The proxy must overwrite any
     * value the client sends. Without it, the TLS connection's certificate is used.
     */
    certificateHeader?: string
  }
  /** The issuer's JWKS URL, instead of discovery (one issuer only). */
  jwksUri?: string
  /** Static public keys, instead of fetching them. */
  keys?: JSONWebKeySet
  /**
   * A shared secret for HMAC-signed tokens. HS256/384/512 are accepted only when this is set
   * and they are listed in `algorithms` explicitly.
   */
  secret?: string | Uint8Array
  /** Accepted JWS algorithms. Default: the asymmetric ones (RS*, PS*, ES*, EdDSA, Ed25519). `none` is never accepted. */
  algorithms?: readonly string[]
  /** Seconds of leeway for `exp`, `nbf` and `iat`. Default 5. */
  clockTolerance?: number
  /** Seconds: reject tokens whose `iat` is older than this. Off by default. */
  maxTokenAge?: number
  /**
   * Require `typ: at+jwt` (RFC 9068). Default false: `JWT` or no `typ` are accepted too, but
   * never a token with ID-token members (`nonce`, `at_hash`, `c_hash`, `s_hash`).
   */
  strict?: boolean
  /** Claim name or function that yields the granted scopes. Default: `scope`, then `scp`. */
  scopeClaim?: ScopeSource
  /** RFC 7662 introspection of opaque tokens, with the resource server's client credentials. */
  introspection?: {
    clientId: string
    clientSecret: string
    /** The endpoint, instead of discovery (one issuer only). */
    endpoint?: string
    /** Seconds an active answer is cached at most (never past the token's `exp`). Default 60. */
    cacheMaxAge?: number
  }
  /** Accept `access_token` in the query string (RFC 6750 §2.3). Default false. */
  queryToken?: boolean
  /** Accept `access_token` in a form-encoded body (RFC 6750 §2.2; needs a body parser first). Default false. */
  formToken?: boolean
  /** Longest accepted token, in characters, checked before any parsing. Default 8192. */
  maxTokenLength?: number
  /** The realm of `WWW-Authenticate` challenges. Default `api`. */
  realm?: string
  /** Let requests without a token through (a presented bad token is still refused). Default false. */
  optional?: boolean
  /** The verified-token cache; `false` verifies every request. */
  cache?: false | { maxEntries?: number }
  /** Timing of remote key sets, in seconds. */
  jwks?: { cacheMaxAge?: number; staleMaxAge?: number; cooldown?: number }
  /** Milliseconds allowed for one outbound request (discovery, keys, introspection). Default 5000. */
  timeout?: number
  /** The `fetch` used for every outbound request. Default `globalThis.fetch`. */
  fetch?: FetchLike
  /**
   * The policy: a YAML/JSON file path (hot-reloaded), a policy document object, or
   * `{ file, watch, pollInterval }`. With a policy, every route the app dispatches is judged
   * by its rule; routes without one are denied (see docs/policy.md).
   */
  policy?: PolicyOption
  /**
   * Receives every decision and policy event, synchronously and off nothing: keep it cheap.
   * A listener that throws is ignored. Off by default (and then no record is built).
   */
  onEvent?: (event: ScopeguardEvent) => void
  /** Where events go, in batches, off the request path (consoleSink(), fileSink(), webhookSink(), otelSink(), your own). */
  sinks?: readonly Sink[]
  /** What is recorded and how: allow sampling, redaction, buffer and batch sizes, onError, inventory, learning period. */
  audit?: AuditOptions
  /**
   * Shared run-time state (revocations, kill switch, elevation grants). Default: an
   * in-memory store for this process; `redisStore()` from @scopeguard/redis shares it
   * across instances. `guard.close()` closes it.
   */
  store?: Store
  /** Longest elevation a caller may grant, in seconds. Default 28,800 (8 hours). */
  maxElevationTtl?: number
  /** How long a revocation without `until` lasts, in seconds. Default 86,400 (a day). */
  revocationTtl?: number
  /**
   * Seconds after which a client not seen by any instance sharing the store is reported as
   * dormant (a `lifecycle` event with `action: 'dormant'`, and in `guard.inventory()`).
   * Clients are those of the policy's baselines and those seen since start. Off by default.
   */
  dormantAfter?: number
  /** Also revoke a dormant client (until it is unrevoked). Default false. */
  revokeDormant?: boolean
  /** Seconds: reject tokens whose lifetime (`exp − iat`) is longer. Off by default. */
  maxTokenLifetime?: number
  /** The clock, in epoch milliseconds. Default `Date.now`. */
  clock?: () => number
  /**
   * DPoP (RFC 9449): sender-constrained tokens proven with a `DPoP` proof per request. On by
   * default in `allowed` mode: plain bearer tokens still work, and a DPoP-bound token
   * (`cnf.jkt`) is accepted only with a valid proof. See docs/dpop.md.
   */
  dpop?: DpopOptions
}

/** DPoP options (RFC 9449). See docs/dpop.md. */
export interface DpopOptions {
  /**
   * `allowed` (default): bearer and DPoP tokens; `required`: DPoP only (a bearer token gets
   * 401 with the `DPoP` challenge); `disabled`: no DPoP processing at all (any `cnf`-bound
   * token is refused, the `DPoP` scheme counts as no token). A policy's route rule can
   * override it per route (`dpop: required | allowed | disabled`).
   */
  mode?: 'disabled' | 'allowed' | 'required'
  /** Accepted proof algorithms (asymmetric only). Default: ES256, ES384, ES512, PS256…PS512, RS256…RS512, EdDSA, Ed25519. */
  algorithms?: readonly string[]
  /** Seconds a proof is accepted after its `iat` (plus `clockTolerance` either way). Default 60. */
  iatWindow?: number
  /**
   * Server-provided nonces (RFC 9449 §9): a proof must carry a nonce this API issued, else 401
   * `use_dpop_nonce` with a fresh `DPoP-Nonce` header. Nonces are stateless (HMAC of a time
   * bucket): every instance with the same `secret` accepts them. `true` uses a random
   * secret of this process (one instance only).
   */
  nonce?: true | { secret?: string | Uint8Array; lifetime?: number }
  /**
   * The public origin of this API (`https://api.example.com`), to check a proof's `htu`
   * against instead of the protocol and host the framework reports (Express `trust proxy`,
   * Koa `app.proxy`). Set it when a proxy in front rewrites the host or protocol.
   */
  origin?: string
}

/** Default accepted DPoP proof algorithms: asymmetric only (RFC 9449 §3). */
export const DEFAULT_DPOP_ALGORITHMS = Object.freeze([
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
  'RS256',
  'RS384',
  'RS512',
  'EdDSA',
  'Ed25519',
])

/**
 * Members of the RFC 9728 metadata document that scopeguard cannot derive. `resource`,
 * `bearer_methods_supported` and `tls_client_certificate_bound_access_tokens` always come
 * from the other options.
 */
export interface ResourceMetadataOptions {
  /** `authorization_servers`: issuer identifiers (RFC 8414) of the servers that issue tokens for this API. Default: `issuer`. */
  authorizationServers?: readonly string[]
  /** `scopes_supported`. Default: the scope names of the policy's catalog (none without a policy). */
  scopesSupported?: readonly string[]
  /** `resource_name`: a human-readable name of the API. */
  resourceName?: string
  /** `resource_documentation`: URL of the API's developer documentation. */
  resourceDocumentation?: string
  /** `resource_policy_uri`: URL of the API's data-use policy. */
  resourcePolicyUri?: string
  /** `resource_tos_uri`: URL of the API's terms of service. */
  resourceTosUri?: string
  /** `jwks_uri`: URL of this API's own public keys (only if it signs responses or requests). */
  jwksUri?: string
  /** Seconds clients and caches may keep the document (`cache-control: max-age`). Default 3600. */
  maxAge?: number
}

/** Default accepted algorithms: asymmetric only. */
export const DEFAULT_ALGORITHMS = Object.freeze([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
])
