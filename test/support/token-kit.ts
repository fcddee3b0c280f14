import { generateKeyPair, SignJWT, decodeJwt } from 'jose'
import {
  DEMO_CLIENTS,
  ITEMS_API,
  RESOURCE_SERVER,
  generateSigningKeys,
  startAuthzServer,
  type AuthzServer,
} from '@scopeguard-examples/authz-server'
import type { ScopeguardOptions } from '@scopeguard/core'
import type { CaseTokens } from '../cases/bearer-cases.js'
import { REALM } from '../cases/bearer-cases.js'
import { hmacWithPublicKey, resign, tampered, unsigned, type SigningKeys } from './tokens.js'

/** The local authorization server with known keys, and a second one for wrong-issuer tokens. */
export interface AuthzFixture {
  authz: AuthzServer
  other: AuthzServer
  keys: SigningKeys
  close(): Promise<void>
}

export async function startAuthzFixture(): Promise<AuthzFixture> {
  const keys = (await generateSigningKeys()) as SigningKeys
  const authz = await startAuthzServer({ keys: keys as never })
  const other = await startAuthzServer()
  return {
    authz,
    other,
    keys,
    close: async () => {
      await Promise.all([authz.stop(), other.stop()])
    },
  }
}

/**
 * Guard options of the items API in the integration suites. The API also accepts the
 * audience `demo-web`, the client id that ID tokens are issued to, so that the ID-token case
 * is refused for being an ID token and not merely for its audience.
 */
export function apiOptions(
  authz: AuthzServer,
  extra: Partial<ScopeguardOptions> = {},
): ScopeguardOptions {
  return {
    issuer: authz.issuer,
    audience: [ITEMS_API, 'https://legacy-api.scopeguard.test', DEMO_CLIENTS.webApp.clientId],
    introspection: {
      clientId: RESOURCE_SERVER.clientId,
      clientSecret: RESOURCE_SERVER.clientSecret,
    },
    realm: REALM,
    queryToken: true,
    clockTolerance: 0,
    ...extra,
  }
}

/** Mints every token of the case table: real ones from the server, and their forgeries. */
export async function mintCaseTokens({ authz, other, keys }: AuthzFixture): Promise<CaseTokens> {
  const [reader, writer, admin, esReader, opaque, revokedOpaque, idToken, foreign] =
    await Promise.all([
      authz.token(DEMO_CLIENTS.reader),
      authz.token(DEMO_CLIENTS.writer),
      authz.token(DEMO_CLIENTS.admin),
      authz.token(DEMO_CLIENTS.esReader),
      authz.token(DEMO_CLIENTS.legacy),
      authz.token(DEMO_CLIENTS.legacy),
      authz.idToken(),
      other.token(DEMO_CLIENTS.writer),
    ])
  await authz.revoke(DEMO_CLIENTS.legacy, revokedOpaque)
  const now = Math.floor(Date.now() / 1000)
  const stranger = await generateKeyPair('RS256')
  const claims = decodeJwt(reader)
  return {
    reader,
    writer,
    admin,
    esReader,
    opaque,
    revokedOpaque,
    idToken,
    wrongIssuer: foreign,
    expired: await resign(reader, keys, (p) => ({ ...p, iat: now - 120, exp: now - 60 })),
    notYetValid: await resign(reader, keys, (p) => ({ ...p, nbf: now + 600 })),
    issuedInFuture: await resign(reader, keys, (p) => ({ ...p, iat: now + 600, exp: now + 1200 })),
    wrongAudience: await resign(writer, keys, (p) => ({
      ...p,
      aud: 'https://other-api.scopeguard.test',
    })),
    wrongType: await resign(reader, keys, (p) => p, { typ: 'dpop+jwt' }),
    noExp: await resign(reader, keys, ({ exp: _exp, ...p }) => p),
    protoScopes: await resign(
      reader,
      keys,
      (p) =>
        JSON.parse(
          `{"__proto__": {"scope": "write:items"}, ${JSON.stringify(p).slice(1, -1)}, "scp": {"__proto__": "write:items"}}`,
        ) as typeof p,
    ),
    algNone: unsigned(reader),
    algNoneUpper: unsigned(reader, 'NONE'),
    hs256Pem: hmacWithPublicKey(reader, keys, 'pem'),
    hs256Jwk: hmacWithPublicKey(reader, keys, 'jwk'),
    hs256Der: hmacWithPublicKey(reader, keys, 'der'),
    tampered: tampered(reader),
    unknownKey: await new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'not-published' })
      .sign(stranger.privateKey),
    oversize: `${reader}${'A'.repeat(9000)}`,
  }
}
