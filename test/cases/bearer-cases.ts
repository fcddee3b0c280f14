/**
 * The policy-free cases of the foundation: one request, the token it carries, and the exact
 * status and challenge the API must answer. The Express and the Koa suites both run every
 * case against a real server, with tokens from the local authorization server.
 */

/** Tokens a case can use; built once per suite (see test/integration/bearer.test.ts). */
export interface CaseTokens {
  reader: string
  writer: string
  admin: string
  esReader: string
  opaque: string
  revokedOpaque: string
  expired: string
  notYetValid: string
  issuedInFuture: string
  wrongAudience: string
  wrongIssuer: string
  idToken: string
  algNone: string
  algNoneUpper: string
  hs256Pem: string
  hs256Jwk: string
  hs256Der: string
  tampered: string
  unknownKey: string
  wrongType: string
  noExp: string
  protoScopes: string
  oversize: string
}

export interface BearerCase {
  name: string
  /** Where the expected behaviour comes from. */
  reference: string
  method?: 'GET' | 'POST' | 'DELETE'
  path: string
  headers: (tokens: CaseTokens) => [string, string][]
  query?: (tokens: CaseTokens) => string
  status: number
  /** The exact WWW-Authenticate value, or null when there must be none. */
  challenge: string | null
}

export const REALM = 'items-api'
const NO_TOKEN = `Bearer realm="${REALM}"`
const INVALID_TOKEN = `Bearer realm="${REALM}", error="invalid_token"`
const INVALID_REQUEST = `Bearer realm="${REALM}", error="invalid_request"`
const insufficient = (scope: string): string =>
  `Bearer realm="${REALM}", error="insufficient_scope", scope="${scope}"`
const auth = (token: string): [string, string] => ['Authorization', `Bearer ${token}`]

/** Every bad-token case: all of them must get byte-identical responses. */
export const INVALID_TOKEN_CASES: BearerCase[] = (
  [
    ['expired token', 'RFC 7519 §4.1.4', (t) => t.expired],
    ['token not valid yet (nbf)', 'RFC 7519 §4.1.5', (t) => t.notYetValid],
    ['token issued in the future (iat)', 'RFC 7519 §4.1.6', (t) => t.issuedInFuture],
    ['wrong audience', 'RFC 9068 §4, RFC 7519 §4.1.3', (t) => t.wrongAudience],
    ['wrong issuer (another authorization server)', 'RFC 9068 §4', (t) => t.wrongIssuer],
    [
      'OpenID ID token used as an access token (audience accepted)',
      'RFC 9068 §4, OIDC Core §2',
      (t) => t.idToken,
    ],
    ['alg none', 'RFC 8725 §3.1, CVE-2015-9235', (t) => t.algNone],
    ['alg NONE', 'RFC 8725 §3.1', (t) => t.algNoneUpper],
    ['HS256 signed with the public key (PEM)', 'RFC 8725 §2.1, CVE-2016-10555', (t) => t.hs256Pem],
    ['HS256 signed with the public key (JWK)', 'RFC 8725 §2.1', (t) => t.hs256Jwk],
    ['HS256 signed with the public key (DER)', 'RFC 8725 §2.1', (t) => t.hs256Der],
    ['tampered payload', 'RFC 7515 §5.2', (t) => t.tampered],
    ['signed with a key the issuer never published', 'RFC 7517', (t) => t.unknownKey],
    ['typ other than at+jwt or JWT', 'RFC 9068 §4, RFC 8725 §3.11', (t) => t.wrongType],
    ['no exp', 'RFC 9068 §2.2', (t) => t.noExp],
    ['revoked opaque token', 'RFC 7662 §2.2', (t) => t.revokedOpaque],
    ['opaque garbage', 'RFC 7662 §2.2', () => 'not-a-token-the-server-knows'],
    ['malformed JWT segments', 'RFC 7515 §7.1', () => 'abc.def.ghi'],
    ['oversize token', 'RFC 6750 §3.1', (t) => t.oversize],
  ] as [string, string, (tokens: CaseTokens) => string][]
).map(([name, reference, token]) => ({
  name,
  reference,
  path: '/items',
  headers: (t: CaseTokens) => [auth(token(t))],
  status: 401,
  challenge: INVALID_TOKEN,
}))

export const BEARER_CASES: BearerCase[] = [
  {
    name: 'no token',
    reference: 'RFC 6750 §3.1',
    path: '/items',
    headers: () => [],
    status: 401,
    challenge: NO_TOKEN,
  },
  {
    name: 'another scheme counts as no token',
    reference: 'RFC 6750 §3.1',
    path: '/items',
    headers: () => [['Authorization', 'Basic cmVhZGVyOnNlY3JldA==']],
    status: 401,
    challenge: NO_TOKEN,
  },
  {
    name: 'public route without a token',
    reference: 'scopeguard',
    path: '/health',
    headers: () => [],
    status: 200,
    challenge: null,
  },
  {
    name: 'RS256 JWT with the scope',
    reference: 'RFC 9068',
    path: '/items',
    headers: (t) => [auth(t.reader)],
    status: 200,
    challenge: null,
  },
  {
    name: 'ES256 JWT with the scope',
    reference: 'RFC 7518 §3.4',
    path: '/items',
    headers: (t) => [auth(t.esReader)],
    status: 200,
    challenge: null,
  },
  {
    name: 'opaque token verified by introspection',
    reference: 'RFC 7662',
    path: '/items',
    headers: (t) => [auth(t.opaque)],
    status: 200,
    challenge: null,
  },
  {
    name: 'lower-case scheme',
    reference: 'RFC 7235 §2.1',
    path: '/items',
    headers: (t) => [['Authorization', `bearer ${t.reader}`]],
    status: 200,
    challenge: null,
  },
  {
    name: 'writer creates an item',
    reference: 'RFC 6750 §3.1',
    method: 'POST',
    path: '/items',
    headers: (t) => [auth(t.writer)],
    status: 201,
    challenge: null,
  },
  {
    name: 'missing scope',
    reference: 'RFC 6750 §3.1',
    method: 'POST',
    path: '/items',
    headers: (t) => [auth(t.reader)],
    status: 403,
    challenge: insufficient('write:items'),
  },
  {
    name: 'missing scope of an or-requirement names its first alternative',
    reference: 'RFC 6750 §3',
    method: 'DELETE',
    path: '/items/7',
    headers: (t) => [auth(t.writer)],
    status: 403,
    challenge: insufficient('delete:items'),
  },
  {
    name: 'the second alternative of an or-requirement',
    reference: 'scopeguard',
    method: 'DELETE',
    path: '/items/7',
    headers: (t) => [auth(t.admin)],
    status: 204,
    challenge: null,
  },
  {
    name: 'scopes hidden under __proto__ grant nothing',
    reference: 'prototype pollution (CWE-1321)',
    method: 'POST',
    path: '/items',
    headers: (t) => [auth(t.protoScopes)],
    status: 403,
    challenge: insufficient('write:items'),
  },
  {
    name: 'malformed Bearer credentials',
    reference: 'RFC 6750 §2.1',
    path: '/items',
    headers: () => [['Authorization', 'Bearer a b']],
    status: 401,
    challenge: INVALID_TOKEN,
  },
  {
    name: 'two Authorization headers',
    reference: 'RFC 6750 §3.1, RFC 9110 §5.3',
    path: '/items',
    headers: (t) => [auth(t.reader), auth(t.reader)],
    status: 400,
    challenge: INVALID_REQUEST,
  },
  {
    name: 'two token methods (header and query)',
    reference: 'RFC 6750 §2',
    path: '/items',
    headers: (t) => [auth(t.reader)],
    query: (t) => `access_token=${t.reader}`,
    status: 400,
    challenge: INVALID_REQUEST,
  },
  {
    name: 'query token, enabled by the option',
    reference: 'RFC 6750 §2.3',
    path: '/items',
    headers: () => [],
    query: (t) => `access_token=${t.reader}`,
    status: 200,
    challenge: null,
  },
  ...INVALID_TOKEN_CASES,
]
