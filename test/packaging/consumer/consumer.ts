// A TypeScript user of the public types, compiled by test/packaging against the packed
// packages under `module`/`moduleResolution` node16, nodenext and bundler. The
// `@ts-expect-error` lines prove that the types are real: were anything `any`, or the
// `req.auth` / `ctx.state.auth` augmentations lost, they would stop being errors.
import express from 'express'
import Koa from 'koa'
import {
  createGuard,
  ScopeguardConfigError,
  type AuthInfo,
  type Decision,
  type Guard,
  type ScopeguardOptions,
} from '@scopeguard/core'
import { requireScopes, scopeguard, type ScopeguardMiddleware } from '@scopeguard/express'
import * as sgKoa from '@scopeguard/koa'

export const options: ScopeguardOptions = {
  issuer: 'https://auth.example.com',
  audience: ['https://api.example.com'],
  cache: { maxEntries: 1000 },
}

// @ts-expect-error `issuer` is required (`audience` too, unless `resource` is given: checked at start-up)
export const incomplete: ScopeguardOptions = { audience: 'https://api.example.com' }

const app = express()
const middleware: ScopeguardMiddleware = scopeguard(options)
app.use(middleware)
app.get('/items', requireScopes('read:items'), (req, res) => {
  const auth: AuthInfo | undefined = req.auth
  // @ts-expect-error `AuthInfo` is read-only
  if (req.auth) req.auth.clientId = 'someone else'
  res.json({ client: auth?.clientId, scopes: [...(auth?.scopes ?? [])] })
})

const koa = new Koa()
koa.use(sgKoa.scopeguard(options))
koa.use(sgKoa.requireScopes(['read:items', 'write:items']))
koa.use((ctx) => {
  const auth: AuthInfo | undefined = ctx.state.auth
  // @ts-expect-error `scopes` is a ReadonlySet, not an array
  ctx.body = { client: auth?.clientId, first: auth?.scopes[0] }
})

/** Explains a decision of the core guard, switching on its stable code and reason. */
export function explain(decision: Decision): string {
  if (decision.allowed) return `allowed ${decision.auth?.subject ?? 'anonymous'}`
  if (decision.code === 'ERR_SG_SCOPE_INSUFFICIENT') {
    return `missing ${decision.missingScopes.join(' ')} (${String(decision.oauthError)})`
  }
  // @ts-expect-error no such reason: `reason` is a union of string literals
  if (decision.reason === 'scope_missing') return 'never'
  return `${decision.status} ${decision.reason} ${decision.headers['www-authenticate'] ?? ''}`
}

/** Whether an error is a configuration mistake that scopeguard reported at start-up. */
export function isConfigMistake(error: unknown): boolean {
  return error instanceof ScopeguardConfigError && error.code === 'ERR_SG_CONFIG'
}

export const guard: Guard = createGuard(options)
