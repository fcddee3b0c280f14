import { checkServerUrl } from './check-url.js'
import { ScopeguardConfigError } from './errors.js'
import type { ResourceMetadataOptions, ScopeguardOptions } from './options.js'
import type { CompiledPolicy } from './policy/types.js'
import type { ResolvedOptions } from './resolve-options.js'

const WELL_KNOWN = '/.well-known/oauth-protected-resource'

/**
 * The protected resource metadata document of RFC 9728 §2, as scopeguard serves it. Members
 * without a value are omitted.
 */
export interface ProtectedResourceMetadata {
  readonly resource: string
  readonly authorization_servers?: readonly string[]
  readonly jwks_uri?: string
  readonly scopes_supported?: readonly string[]
  readonly bearer_methods_supported: readonly ('header' | 'body' | 'query')[]
  readonly resource_name?: string
  readonly resource_documentation?: string
  readonly resource_policy_uri?: string
  readonly resource_tos_uri?: string
  readonly tls_client_certificate_bound_access_tokens?: boolean
  readonly dpop_signing_alg_values_supported?: readonly string[]
  readonly dpop_bound_access_tokens_required?: boolean
}

/** The answer to a request for the metadata document. */
export interface MetadataResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  /** The JSON document (empty for HEAD and 405). */
  readonly body: string
}

/** What an adapter needs to serve the document: where, and what to answer. */
export interface ResourceMetadataEndpoint {
  /** The document's URL, as `resource_metadata` in challenges: the well-known URI of `resource` (RFC 9728 §3.1). */
  readonly url: string
  /** Request paths that get the document: the well-known path, and its path-suffixed form. */
  readonly paths: readonly string[]
  /** The current document (rebuilt when a policy reload changes the catalog). */
  document(): ProtectedResourceMetadata
  /** The response for a request to one of `paths`: 200 for GET and HEAD, 405 otherwise. */
  respond(method: string): MetadataResponse
}

/**
 * Creates the RFC 9728 metadata endpoint of a guard from its options, or undefined when no
 * `resource` is configured or `resourceMetadata` is `false`. Every option is checked now; the
 * document is built once per policy version and kept, so serving it costs a comparison.
 *
 * @example
 * const endpoint = createResourceMetadata(options, config, () => policySource?.current())
 * endpoint?.url // => 'https://api.example.com/.well-known/oauth-protected-resource'
 */
export function createResourceMetadata(
  options: ScopeguardOptions,
  config: ResolvedOptions,
  currentPolicy: () => CompiledPolicy | undefined,
): ResourceMetadataEndpoint | undefined {
  const settings = options.resourceMetadata
  if (config.resource === undefined) {
    if (settings !== undefined && settings !== false) {
      throw new ScopeguardConfigError(
        'resourceMetadata needs resource: the identifier of this API (e.g. https://api.example.com)',
      )
    }
    return undefined
  }
  if (settings === false) return undefined
  if (settings !== undefined && (settings === null || typeof settings !== 'object')) {
    throw new ScopeguardConfigError('resourceMetadata must be an object, or false to turn it off')
  }
  const fixed = fixedMembers(config, config.resource, settings ?? {})
  const maxAge = settings?.maxAge ?? 3600
  if (!Number.isSafeInteger(maxAge) || maxAge < 0) {
    throw new ScopeguardConfigError('resourceMetadata.maxAge must be a whole number of seconds ≥ 0')
  }
  const url = new URL(config.resource)
  const suffix = url.pathname === '/' ? '' : url.pathname
  const headers = Object.freeze({
    'content-type': 'application/json',
    'cache-control': `public, max-age=${maxAge}`,
  })
  const notAllowed: MetadataResponse = Object.freeze({
    status: 405,
    headers: Object.freeze({ allow: 'GET, HEAD' }),
    body: '',
  })
  let built:
    | {
        policy: CompiledPolicy | undefined
        document: ProtectedResourceMetadata
        ok: MetadataResponse
        head: MetadataResponse
      }
    | undefined
  const current = (): NonNullable<typeof built> => {
    const policy = currentPolicy()
    if (built === undefined || built.policy !== policy) {
      const scopes = settings?.scopesSupported ?? (policy && Object.keys(policy.document.scopes))
      const document: ProtectedResourceMetadata = Object.freeze({
        ...fixed,
        ...(scopes === undefined ? {} : { scopes_supported: Object.freeze([...scopes]) }),
      })
      const body = JSON.stringify(document)
      built = {
        policy,
        document,
        ok: Object.freeze({ status: 200, headers, body }),
        head: Object.freeze({
          status: 200,
          headers: Object.freeze({ ...headers, 'content-length': String(Buffer.byteLength(body)) }),
          body: '',
        }),
      }
    }
    return built
  }
  return {
    url: `${url.origin}${WELL_KNOWN}${suffix}`,
    paths: Object.freeze(suffix === '' ? [WELL_KNOWN] : [WELL_KNOWN, WELL_KNOWN + suffix]),
    document: () => current().document,
    respond: (method) =>
      method === 'GET' ? current().ok : method === 'HEAD' ? current().head : notAllowed,
  }
}

/** The members that do not depend on the policy, in the order of RFC 9728 §2. */
function fixedMembers(
  config: ResolvedOptions,
  resource: string,
  settings: ResourceMetadataOptions,
): Omit<ProtectedResourceMetadata, 'scopes_supported'> {
  const urls = (option: string, values: unknown): string[] => {
    if (!Array.isArray(values) || values.length === 0) {
      throw new ScopeguardConfigError(`resourceMetadata.${option} must be a non-empty list of URLs`)
    }
    return values.map(
      (value) => (checkServerUrl(`resourceMetadata.${option}`, value), value as string),
    )
  }
  const text = (option: string, value: unknown): string | undefined => {
    if (value === undefined) return undefined
    if (typeof value !== 'string' || value === '')
      throw new ScopeguardConfigError(`resourceMetadata.${option} must be a non-empty string`)
    return value
  }
  const link = (option: string, value: unknown): string | undefined =>
    value === undefined
      ? undefined
      : (checkServerUrl(`resourceMetadata.${option}`, value), value as string)
  if (settings.scopesSupported !== undefined && !Array.isArray(settings.scopesSupported)) {
    throw new ScopeguardConfigError('resourceMetadata.scopesSupported must be a list of scopes')
  }
  const bearerMethods: ('header' | 'body' | 'query')[] = ['header']
  if (config.formToken) bearerMethods.push('body')
  if (config.queryToken) bearerMethods.push('query')
  const members: Record<string, unknown> = {
    resource,
    authorization_servers: Object.freeze(
      urls('authorizationServers', settings.authorizationServers ?? config.issuers),
    ),
    jwks_uri: link('jwksUri', settings.jwksUri),
    bearer_methods_supported: Object.freeze(bearerMethods),
    resource_name: text('resourceName', settings.resourceName),
    resource_documentation: link('resourceDocumentation', settings.resourceDocumentation),
    resource_policy_uri: link('resourcePolicyUri', settings.resourcePolicyUri),
    resource_tos_uri: link('resourceTosUri', settings.resourceTosUri),
    tls_client_certificate_bound_access_tokens: config.mtls === undefined ? undefined : true,
    ...dpopMembers(config),
  }
  for (const key of Object.keys(members)) if (members[key] === undefined) delete members[key]
  return members as unknown as Omit<ProtectedResourceMetadata, 'scopes_supported'>
}

/**
 * DPoP members (RFC 9728 §2, RFC 9449 §5.1) from the resolved `dpop` option: the accepted proof
 * algorithms whenever DPoP is not disabled, and `dpop_bound_access_tokens_required: true` when
 * `dpop.mode` is `required` (omitted otherwise: RFC 9728's default is false, and a policy rule
 * may still require DPoP on its own routes). With `dpop.mode: 'disabled'` both are omitted.
 */
function dpopMembers(config: ResolvedOptions): Partial<ProtectedResourceMetadata> {
  const { dpop } = config
  if (dpop === undefined) return {}
  return {
    dpop_signing_alg_values_supported: Object.freeze([...dpop.algorithms]),
    ...(dpop.mode === 'required' ? { dpop_bound_access_tokens_required: true } : {}),
  }
}
