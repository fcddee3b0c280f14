// One app configuration driven in process, for `bench/instructions.mjs`: the same Express or
// Koa app as `bench/servers/*-server.mjs`, built from the packages of a given checkout, answers
// `warmup` and then `requests` requests for `GET /items` with the same token. Each request is a
// real IncomingMessage / ServerResponse pair on an unconnected socket: the app, the framework
// and scopeguard run as they do in a server, with no network and no load generator. Nothing is
// timed here: the parent counts the instructions of the whole process under valgrind, with
// and without the `requests`, and takes the difference.
import { IncomingMessage, ServerResponse } from 'node:http'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { Socket } from 'node:net'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { importJWK, SignJWT } from 'jose'
import { ITEMS } from '../servers/serve.mjs'

const config = JSON.parse(process.argv[2] ?? '{}')
const { checkout, framework, variant, keyFile, policyFile, sinkFile, warmup, requests } = config
const issuer = 'https://issuer.scopeguard.test'
const audience = 'https://items-api.scopeguard.test'

// A key generated once by the parent: RSA key generation takes a random number of steps.
const key = JSON.parse(readFileSync(keyFile, 'utf8'))
const now = Math.floor(Date.now() / 1000)
const token = await new SignJWT({ scope: 'read:items', client_id: 'reader', sub: 'user-1' })
  .setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'at+jwt' })
  .setIssuer(issuer)
  .setAudience(audience)
  .setIssuedAt(now)
  .setExpirationTime(now + 3600)
  .sign(await importJWK(key.privateJwk, 'RS256'))

// The framework and the adapter of the checkout measured, not of this one.
const fromAdapter = createRequire(join(checkout, 'packages', framework, 'package.json'))
const load = async (name) => (await import(pathToFileURL(fromAdapter.resolve(name)).href)).default
const sg = await import(
  pathToFileURL(join(checkout, 'packages', framework, 'dist', 'index.js')).href
)
const options = {
  issuer,
  audience,
  keys: { keys: [{ ...key.publicJwk, kid: 'k1', alg: 'RS256', use: 'sig' }] },
  ...(variant === 'scopeguard-policy'
    ? { policy: policyFile, sinks: sinkFile ? [sg.fileSink({ path: sinkFile })] : [] }
    : {}),
}

let guard
let handler
if (framework === 'express') {
  const express = await load('express')
  const app = express()
  const list = (_req, res) => res.json(ITEMS)
  if (variant === 'none') app.get('/items', list)
  else if (variant === 'scopeguard') {
    app.use((guard = sg.scopeguard(options)))
    app.get('/items', sg.requireScopes('read:items'), list)
  } else if (variant === 'scopeguard-policy') {
    app.use((guard = sg.scopeguard(options)))
    app.get('/items', list)
  } else throw new Error(`unknown variant ${variant}`)
  handler = app
} else if (framework === 'koa') {
  const Koa = await load('koa')
  const Router = await load('@koa/router')
  const app = new Koa()
  const router = new Router()
  const list = (ctx) => {
    ctx.body = ITEMS
  }
  if (variant === 'none') router.get('/items', list)
  else if (variant === 'scopeguard') {
    app.use((guard = sg.scopeguard(options)))
    router.get('/items', sg.requireScopes('read:items'), list)
  } else if (variant === 'scopeguard-policy') {
    app.use((guard = sg.scopeguard(options)))
    router.get('/items', list)
  } else throw new Error(`unknown variant ${variant}`)
  app.use(router.routes())
  app.use(router.allowedMethods())
  handler = app.callback()
} else throw new Error(`unknown framework ${framework}`)

const socket = new Socket()
/** One request through the app; resolves with the status once the response has ended. */
function one() {
  return new Promise((resolve) => {
    const req = new IncomingMessage(socket)
    req.method = 'GET'
    req.url = '/items'
    req.headers = { host: '127.0.0.1', authorization: `Bearer ${token}` }
    req.rawHeaders = ['Host', '127.0.0.1', 'Authorization', `Bearer ${token}`]
    req.complete = true
    req.push(null)
    const res = new ServerResponse(req)
    res._send = () => true
    res._writeRaw = () => true
    const end = res.end
    res.end = function (...args) {
      const result = end.apply(this, args)
      resolve(this.statusCode)
      return result
    }
    handler(req, res)
  })
}

/** `count` requests, every one answered 200; the event loop gets a turn every 50 requests. */
async function drive(count) {
  for (let i = 0; i < count; i++) {
    const status = await one()
    if (status !== 200) throw new Error(`${framework} ${variant}: answered ${status}, not 200`)
    // What the frameworks defer (setImmediate, timers) runs here, as it would in a server.
    if (i % 50 === 49) await new Promise((resolve) => setImmediate(resolve))
  }
}

await drive(1 + warmup)
await drive(requests)
await guard?.close(1000)
process.exit(0)
