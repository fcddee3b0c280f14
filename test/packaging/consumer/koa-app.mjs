// A user's Koa 3 app with @koa/router, run from the packed @scopeguard/koa by test/packaging.
// SG_ISSUER and SG_AUDIENCE name the local authorization server and this API.
import Router from '@koa/router'
import Koa from 'koa'
import { requireScopes, scopeguard } from '@scopeguard/koa'

const app = new Koa()
const router = new Router()
router.get('/items', requireScopes('read:items'), (ctx) => {
  ctx.body = { items: [], client: ctx.state.auth?.clientId, scopes: [...ctx.state.auth.scopes] }
})
router.delete('/items/:id', requireScopes('delete:items or admin'), (ctx) => {
  ctx.status = 204
})
app.use(scopeguard({ issuer: process.env.SG_ISSUER, audience: process.env.SG_AUDIENCE }))
app.use(router.routes())

const server = app.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ url: `http://127.0.0.1:${server.address().port}` }))
})
