// One Express 5 configuration per process: `GET /items` behind the variant's middleware.
import { createServer } from 'node:http'
import express from 'express'
import { fileSink, requireScopes, scopeguard } from '@scopeguard/express'
import { auth, requiredScopes } from 'express-oauth2-jwt-bearer'
import { expressjwt } from 'express-jwt'
import jwtAuthz from 'express-jwt-authz'
import jwksRsa from 'jwks-rsa'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { ITEMS, readConfig, serve } from './serve.mjs'

const config = readConfig()
const { issuer, audience, jwksUri, alg } = config
const app = express()
const list = (_req, res) => res.json(ITEMS)
let guard

switch (config.variant) {
  case 'none':
    app.get('/items', list)
    break
  case 'layers': {
    // A reference, not a peer: Express's own cost of the two layers scopeguard adds (an
    // app-level middleware and a route-level one), with nothing done in them.
    const pass = (_req, _res, next) => next()
    app.use(pass)
    app.get('/items', pass, list)
    break
  }
  case 'scopeguard':
    // requireScopes next to the route, no policy; `cacheEntries` only for the cold path.
    guard = scopeguard({
      issuer,
      audience,
      ...(config.cacheEntries ? { cache: { maxEntries: config.cacheEntries } } : {}),
    })
    app.use(guard)
    app.get('/items', requireScopes('read:items'), list)
    break
  case 'scopeguard-policy':
    // A policy file (baselines, a ramp contract), every decision written by a file sink.
    guard = scopeguard({
      issuer,
      audience,
      policy: config.policyFile,
      sinks: config.sinkFile ? [fileSink({ path: config.sinkFile })] : [],
    })
    app.use(guard)
    app.get('/items', list)
    break
  case 'oauth2-jwt-bearer':
    app.use(auth({ issuerBaseURL: issuer, audience, tokenSigningAlg: alg }))
    app.get('/items', requiredScopes('read:items'), list)
    break
  case 'express-jwt':
    app.use(
      expressjwt({
        secret: jwksRsa.expressJwtSecret({ jwksUri, cache: true, rateLimit: true }),
        issuer,
        audience,
        algorithms: [alg],
      }),
    )
    app.get(
      '/items',
      jwtAuthz(['read:items'], { customUserKey: 'auth', customScopeKey: 'scope' }),
      list,
    )
    break
  case 'jose': {
    // The bare cost of verification: jose's jwtVerify and a scope check, nothing else.
    const keys = createRemoteJWKSet(new URL(jwksUri))
    app.use(async (req, res, next) => {
      const header = req.headers.authorization ?? ''
      try {
        const { payload } = await jwtVerify(header.slice(7), keys, {
          issuer,
          audience,
          algorithms: [alg],
          requiredClaims: ['exp'],
        })
        req.auth = payload
      } catch {
        return void res.status(401).end()
      }
      next()
    })
    app.get(
      '/items',
      (req, res, next) =>
        String(req.auth.scope ?? '')
          .split(' ')
          .includes('read:items')
          ? next()
          : void res.status(403).end(),
      list,
    )
    break
  }
  default:
    throw new Error(`unknown Express variant ${config.variant}`)
}

// Errors that carry a status (the peers' 401 and 403) are answered with it, without logging.
app.use((error, _req, res, _next) => void res.status(error.status ?? 500).end())

process.title = `bench-express-${config.variant}`
await serve(createServer(app), { guard })
