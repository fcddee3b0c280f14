import { redisStore } from '@scopeguard/redis'
import type { ScopeguardOptions } from '@scopeguard/express'

/**
 * Reads the guard options of the example from the environment: `SCOPEGUARD_ISSUER`
 * (default the local authorization server on port 4000), `SCOPEGUARD_AUDIENCE`, and
 * `SCOPEGUARD_INTROSPECTION_ID` / `SCOPEGUARD_INTROSPECTION_SECRET` for opaque tokens, and
 * `SCOPEGUARD_POLICY`, the path of a policy file, and `SCOPEGUARD_REDIS_URL` to share
 * revocations and elevations with other instances.
 */
export function readApiOptions(env: NodeJS.ProcessEnv = process.env): ScopeguardOptions {
  const clientId = env['SCOPEGUARD_INTROSPECTION_ID'] ?? 'items-api'
  const clientSecret = env['SCOPEGUARD_INTROSPECTION_SECRET']
  const policy = env['SCOPEGUARD_POLICY']
  const redisUrl = env['SCOPEGUARD_REDIS_URL']
  return {
    issuer: env['SCOPEGUARD_ISSUER'] ?? 'http://127.0.0.1:4000',
    audience: (
      env['SCOPEGUARD_AUDIENCE'] ??
      'https://items-api.scopeguard.test https://legacy-api.scopeguard.test'
    ).split(' '),
    ...(clientSecret ? { introspection: { clientId, clientSecret } } : {}),
    ...(policy ? { policy } : {}),
    ...(redisUrl ? { store: redisStore({ url: redisUrl }) } : {}),
  }
}
