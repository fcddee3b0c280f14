// A user's Express 5 app, run from the packed @scopeguard/express by test/packaging.
// SG_ISSUER and SG_AUDIENCE name the local authorization server and this API.
import express from 'express'
import { requireScopes, scopeguard } from '@scopeguard/express'

const app = express()
app.get('/health', (_req, res) => {
  res.json({ ok: true })
})
app.use(scopeguard({ issuer: process.env.SG_ISSUER, audience: process.env.SG_AUDIENCE }))
app.get('/items', requireScopes('read:items'), (req, res) => {
  res.json({ items: [], client: req.auth?.clientId, scopes: [...req.auth.scopes] })
})
app.delete('/items/:id', requireScopes('delete:items or admin'), (_req, res) => {
  res.status(204).end()
})

const server = app.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ url: `http://127.0.0.1:${server.address().port}` }))
})
