import { ScopeguardConfigError } from './errors.js'
import { checkServerUrl } from './check-url.js'
import { checkCertificateHeader } from './client-certificate.js'
import { DEFAULT_ALGORITHMS, type ScopeguardOptions } from './options.js'
import type { ScopeSource } from './scopes/read-scopes.js'
import type { IntrospectionPolicy } from './verify/introspect-token.js'
import {
  createIssuerMetadata,
  createStaticIssuerMetadata,
  type IssuerMetadata,
} from './verify/issuer-metadata.js'
import { createRemoteKeySource, createStaticKeySource, type GetKey } from './verify/key-source.js'
import type { JwtPolicy } from './verify/verify-jwt.js'
import { resolveDpop } from './dpop/resolve-dpop.js'
import type { DpopPolicy } from './dpop/verify-proof.js'

const HMAC = new Set(['HS256', 'HS384', 'HS512'])
const KNOWN_ALGORITHMS = new Set([...DEFAULT_ALGORITHMS, ...HMAC])

/** Mutable counters behind `guard.stats()`. */
export interface Counters {
  jwtVerifications: number
  introspections: number
  cacheHits: number
  keyFetches: number
  discoveryRequests: number
}

/** Options checked and turned into what the request path uses. */
export interface ResolvedOptions {
  readonly jwt: JwtPolicy
  readonly introspection: IntrospectionPolicy | undefined
  readonly introspectionCacheMaxAge: number
  readonly scopeClaim: ScopeSource | undefined
  readonly queryToken: boolean
  readonly formToken: boolean
  readonly maxTokenLength: number
  readonly realm: string
  readonly optional: boolean
  /** The accepted issuers, as given. */
  readonly issuers: readonly string[]
  /** The RFC 9728 resource identifier, if there is one. */
  readonly resource: string | undefined
  /** Certificate-bound tokens (RFC 8705) accepted, and where the certificate comes from. */
  readonly mtls: { readonly certificateHeader: string | undefined } | undefined
  readonly cacheEntries: number
  readonly maxTokenLifetime: number | undefined
  readonly maxElevationTtl: number
  readonly revocationTtl: number
  readonly clock: () => number
  readonly counters: Counters
  /** DPoP proof checks; undefined when `dpop.mode` is `disabled`. */
  readonly dpop: DpopPolicy | undefined
}

/**
 * Checks every option and builds the verification policies. Throws a
 * {@link ScopeguardConfigError} that says what to change; performs no I/O.
 */
export function resolveOptions(options: ScopeguardOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    throw new ScopeguardConfigError(
      'scopeguard needs an options object with at least issuer and audience',
    )
  }
  const issuers = list('issuer', options.issuer)
  const issuerUrls = issuers.map((issuer) => checkServerUrl('issuer', issuer))
  const resource = options.resource === undefined ? undefined : checkResource(options.resource)
  // RFC 8707: without an explicit audience, tokens must be issued for this resource.
  const audiences =
    options.audience === undefined && resource !== undefined
      ? [resource]
      : list('audience', options.audience)
  const algorithms = checkAlgorithms(options)
  const clock = options.clock ?? Date.now
  const fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
  const timeout = positive('timeout', options.timeout, 5000)
  const clockTolerance = nonNegative('clockTolerance', options.clockTolerance, 5)
  const counters: Counters = {
    jwtVerifications: 0,
    introspections: 0,
    cacheHits: 0,
    keyFetches: 0,
    discoveryRequests: 0,
  }
  const single = (option: string): void => {
    if (issuers.length > 1) {
      throw new ScopeguardConfigError(`${option} can be given only with a single issuer`)
    }
  }

  const credentials = checkIntrospection(options)
  const metadata = new Map<string, IssuerMetadata>()
  const metadataOf = (issuer: string): IssuerMetadata => {
    let found = metadata.get(issuer)
    if (found === undefined) {
      found = createIssuerMetadata(issuer, credentials, {
        fetch: fetchImpl,
        timeout,
        clock,
        onFetch: () => counters.discoveryRequests++,
      })
      metadata.set(issuer, found)
    }
    return found
  }

  const jwks = options.jwks ?? {}
  const timing = {
    cacheMaxAge: positive('jwks.cacheMaxAge', jwks.cacheMaxAge, 600) * 1000,
    staleMaxAge: nonNegative('jwks.staleMaxAge', jwks.staleMaxAge, 3600) * 1000,
    cooldown: nonNegative('jwks.cooldown', jwks.cooldown, 30) * 1000,
    timeout,
  }
  const staticKeys = options.keys === undefined ? undefined : checkKeys(options.keys)
  const secret = options.secret === undefined ? undefined : checkSecret(options.secret)
  const jwksUri =
    options.jwksUri === undefined ? undefined : checkServerUrl('jwksUri', options.jwksUri)
  if (jwksUri) single('jwksUri')
  if (jwksUri && staticKeys)
    throw new ScopeguardConfigError('give either jwksUri or keys, not both')

  const keySourceOf = (issuer: string): GetKey => {
    const asymmetric: GetKey = staticKeys
      ? createStaticKeySource(staticKeys)
      : createRemoteKeySource(
          jwksUri
            ? () => Promise.resolve(jwksUri)
            : async () => jwksUriOf(await metadataOf(issuer)(), issuer),
          { fetch: fetchImpl, clock, timing, stats: counters },
        )
    if (secret === undefined) return asymmetric
    return (header, token) =>
      HMAC.has(header.alg ?? '') ? Promise.resolve(secret as never) : asymmetric(header, token)
  }

  const jwt: JwtPolicy = {
    issuers: new Map(issuers.map((issuer) => [issuer, keySourceOf(issuer)])),
    audiences,
    algorithms,
    clockTolerance,
    maxTokenAge:
      options.maxTokenAge === undefined
        ? undefined
        : positive('maxTokenAge', options.maxTokenAge, 0),
    strict: options.strict === true,
  }

  let introspection: IntrospectionPolicy | undefined
  if (credentials) {
    const issuerUrl = issuerUrls[0] as URL
    if (options.introspection?.endpoint !== undefined) single('introspection.endpoint')
    else single('introspection')
    const endpoint = options.introspection?.endpoint
    introspection = {
      issuer: issuers[0] as string,
      audiences,
      clockTolerance,
      maxTokenAge: jwt.maxTokenAge,
      metadata:
        endpoint === undefined
          ? metadataOf(issuers[0] as string)
          : createStaticIssuerMetadata(
              issuerUrl,
              checkServerUrl('introspection.endpoint', endpoint),
              credentials,
              {
                fetch: fetchImpl,
                timeout,
              },
            ),
    }
  }

  const cache = options.cache
  return {
    jwt,
    introspection,
    introspectionCacheMaxAge:
      positive('introspection.cacheMaxAge', options.introspection?.cacheMaxAge, 60) * 1000,
    scopeClaim: checkScopeClaim(options.scopeClaim),
    queryToken: options.queryToken === true,
    formToken: options.formToken === true,
    maxTokenLength: positive('maxTokenLength', options.maxTokenLength, 8192),
    realm: options.realm ?? 'api',
    optional: options.optional === true,
    issuers,
    resource,
    mtls: checkMtls(options.mtls),
    cacheEntries: cache === false ? 0 : positive('cache.maxEntries', cache?.maxEntries, 10_000),
    maxTokenLifetime:
      options.maxTokenLifetime === undefined
        ? undefined
        : positive('maxTokenLifetime', options.maxTokenLifetime, 0),
    maxElevationTtl: positive('maxElevationTtl', options.maxElevationTtl, 28_800),
    revocationTtl: positive('revocationTtl', options.revocationTtl, 86_400),
    clock,
    counters,
    dpop: resolveDpop(options.dpop, clockTolerance),
  }
}

/** A resource identifier (RFC 9728 §1.2): an https URL (http on loopback), no query, no fragment. */
function checkResource(value: unknown): string {
  const url = checkServerUrl('resource', value)
  if (url.search !== '' || url.hash !== '' || (value as string).includes('#')) {
    throw new ScopeguardConfigError(
      `resource ${JSON.stringify(value)} must have no query and no fragment (RFC 9728 §1.2): give the API's base URL, e.g. https://api.example.com`,
    )
  }
  return value as string
}

function checkMtls(value: unknown): ResolvedOptions['mtls'] {
  if (value === undefined) return undefined
  if (value === null || typeof value !== 'object') {
    throw new ScopeguardConfigError(
      "mtls must be an object: {} for the TLS connection's certificate, or { certificateHeader } for a trusted proxy",
    )
  }
  const header = (value as { certificateHeader?: unknown }).certificateHeader
  return Object.freeze({
    certificateHeader: header === undefined ? undefined : checkCertificateHeader(header),
  })
}

function jwksUriOf(config: { serverMetadata(): { jwks_uri?: string } }, issuer: string): URL {
  const uri = config.serverMetadata().jwks_uri
  if (uri === undefined) throw new Error(`the metadata of ${issuer} has no jwks_uri`)
  return checkServerUrl('jwks_uri', uri)
}

function list(option: string, value: unknown): string[] {
  const values =
    typeof value === 'string'
      ? [value]
      : Array.isArray(value)
        ? [...(value as unknown[])]
        : undefined
  if (
    values === undefined ||
    values.length === 0 ||
    values.some((v) => typeof v !== 'string' || v === '')
  ) {
    throw new ScopeguardConfigError(
      `${option} is required: a non-empty string or a non-empty list of strings` +
        (option === 'audience' ? ' (or give resource, which is then the audience)' : ''),
    )
  }
  return values as string[]
}

function checkAlgorithms(options: ScopeguardOptions): string[] {
  const algorithms =
    options.algorithms === undefined
      ? [...DEFAULT_ALGORITHMS]
      : list('algorithms', options.algorithms)
  for (const alg of algorithms) {
    if (alg.toLowerCase() === 'none') {
      throw new ScopeguardConfigError(
        'algorithms must not include "none": unsigned tokens are never accepted',
      )
    }
    if (!KNOWN_ALGORITHMS.has(alg)) {
      throw new ScopeguardConfigError(`algorithms: unknown JWS algorithm ${JSON.stringify(alg)}`)
    }
    if (HMAC.has(alg) && options.secret === undefined) {
      throw new ScopeguardConfigError(`algorithms: ${alg} needs the shared secret option "secret"`)
    }
  }
  if (options.secret !== undefined && !algorithms.some((alg) => HMAC.has(alg))) {
    throw new ScopeguardConfigError(
      'secret is set but algorithms lists no HS256/HS384/HS512: list the HMAC algorithms to accept',
    )
  }
  return algorithms
}

function checkIntrospection(
  options: ScopeguardOptions,
): { clientId: string; clientSecret: string } | undefined {
  const introspection = options.introspection
  if (introspection === undefined) return undefined
  const { clientId, clientSecret } = introspection
  if (
    typeof clientId !== 'string' ||
    clientId === '' ||
    typeof clientSecret !== 'string' ||
    clientSecret === ''
  ) {
    throw new ScopeguardConfigError(
      'introspection needs the clientId and clientSecret of this API at the authorization server',
    )
  }
  return { clientId, clientSecret }
}

function checkKeys(keys: unknown): { keys: never[] } {
  const entries = (keys as { keys?: unknown } | null)?.keys
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new ScopeguardConfigError('keys must be a JWK Set: { keys: [ …public JWKs ] }')
  }
  for (const key of entries as Record<string, unknown>[]) {
    if (key['d'] !== undefined || key['k'] !== undefined) {
      throw new ScopeguardConfigError(
        'keys must hold public keys only (found a private or symmetric key); use secret for HMAC',
      )
    }
  }
  return keys as { keys: never[] }
}

function checkSecret(secret: unknown): Uint8Array {
  const bytes = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret
  if (!(bytes instanceof Uint8Array) || bytes.length < 32) {
    throw new ScopeguardConfigError('secret must be a string or Uint8Array of at least 32 bytes')
  }
  return bytes
}

function checkScopeClaim(value: unknown): ScopeSource | undefined {
  if (value === undefined || typeof value === 'function') return value as ScopeSource | undefined
  if (typeof value === 'string' && value !== '') return value
  throw new ScopeguardConfigError('scopeClaim must be a claim name or a function of the claims')
}

function positive(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ScopeguardConfigError(`${option} must be a positive number`)
  }
  return value
}

function nonNegative(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ScopeguardConfigError(`${option} must be a number ≥ 0`)
  }
  return value
}
