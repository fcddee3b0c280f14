// One Koa 3 configuration per process: `GET /items` on @koa/router behind the variant's middleware.
import { createServer } from 'node:http'
import Koa from 'koa'
import Router from '@koa/router'
import { fileSink, requireScopes, scopeguard } from '@scopeguard/koa'
import jwt from 'koa-jwt'
import jwksRsa from 'jwks-rsa'
import { ITEMS, readConfig, serve } from './serve.mjs'

const config = readConfig()
const { issuer, audience, jwksUri, alg } = config
const app = new Koa()
const router = new Router()
const list = (ctx) => {
  ctx.body = ITEMS
}
let guard

switch (config.variant) {
  case 'none':
    router.get('/items', list)
    break
  case 'scopeguard':
    guard = scopeguard({
      issuer,
      audience,
      ...(config.cacheEntries ? { cache: { maxEntries: config.cacheEntries } } : {}),
    })
    app.use(guard)
    router.get('/items', requireScopes('read:items'), list)
    break
  case 'scopeguard-policy':
    guard = scopeguard({
      issuer,
      audience,
      policy: config.policyFile,
      sinks: config.sinkFile ? [fileSink({ path: config.sinkFile })] : [],
    })
    app.use(guard)
    router.get('/items', list)
    break
  case 'koa-jwt':
    app.use(
      jwt({
        secret: jwksRsa.koaJwtSecret({ jwksUri, cache: true, rateLimit: true }),
        issuer,
        audience,
        algorithms: [alg],
      }),
    )
    router.get(
      '/items',
      (ctx, next) => {
        if (
          !String(ctx.state.user?.scope ?? '')
            .split(' ')
            .includes('read:items')
        ) {
          ctx.status = 403
          return
        }
        return next()
      },
      list,
    )
    break
  default:
    throw new Error(`unknown Koa variant ${config.variant}`)
}
app.use(router.routes())
app.use(router.allowedMethods())

process.title = `bench-koa-${config.variant}`
await serve(createServer(app.callback()), { guard })
