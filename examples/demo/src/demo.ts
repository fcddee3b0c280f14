/**
 * The scopeguard demo: starts the local authorization server and the items API on Express
 * and on Koa, both judged by the policy in examples/demo/items.policy.yaml, then plays a
 * scripted client against both and prints what each request got, with the decision and
 * violation events scopeguard recorded for it.
 * It checks every answer, stops everything it started and exits 0 (1 if an answer was not
 * the expected one). `--keep` leaves the servers running on fixed ports for trying them
 * with curl, until Ctrl+C.
 */
import { once } from 'node:events'
import { createServer, type Server, type RequestListener } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { ScopeguardEvent } from '@scopeguard/core'
import {
  DEMO_CLIENTS,
  ITEMS_API,
  LEGACY_API,
  RESOURCE_SERVER,
  startAuthzServer,
  type AuthzServer,
  type DemoClient,
} from '@scopeguard-examples/authz-server'
import { createItemsApp as createExpressApp } from '@scopeguard-examples/express-api'
import { createItemsApp as createKoaApp } from '@scopeguard-examples/koa-api'

interface Step {
  what: string
  method: 'GET' | 'POST' | 'DELETE'
  path: string
  client?: DemoClient
  token?: string
  expect: number
}

const keep = process.argv.includes('--keep')
const ports = keep ? { authz: 4000, express: 3000, koa: 3001 } : { authz: 0, express: 0, koa: 0 }

async function listen(
  listener: RequestListener,
  port: number,
): Promise<{ server: Server; url: string }> {
  const server = createServer(listener)
  server.listen(port, '127.0.0.1')
  await once(server, 'listening')
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
}

const events: ScopeguardEvent[] = []

/** One line per recorded decision and violation, as an audit trail would show them. */
function describeEvents(): string[] {
  const lines: string[] = []
  for (const event of events.splice(0)) {
    if (event.type === 'policy') {
      lines.push(`policy ${event.action} ${event.version}`)
      continue
    }
    if (event.type === 'first_use') {
      lines.push(`first use of ${event.scope} by ${event.clientId}`)
      continue
    }
    // Violations are listed with their decision below; lifecycle and store events do not occur here.
    if (event.type !== 'decision') continue
    const who = event.clientId ?? 'anonymous'
    const where = event.route ?? event.path ?? ''
    const why = event.allowed
      ? ''
      : ` (${event.reason}${event.rejection ? `: ${event.rejection}` : ''})`
    lines.push(
      `decision ${event.allowed ? 'allow' : 'deny'} ${event.status} ${event.method} ${where} client=${who}${why}`,
    )
    for (const violation of event.violations) {
      const effect = violation.enforced
        ? 'enforced'
        : `${violation.mode === 'monitor' ? 'monitor' : 'alert'}, let through`
      lines.push(
        `violation ${violation.type} [${effect}] expected ${JSON.stringify(violation.expected)} seen ${JSON.stringify(violation.seen)}`,
      )
    }
  }
  // A route's policy rule and its requireScopes() each record a decision: show a repeat once.
  return lines.filter((line, index) => lines.indexOf(line) === index)
}

async function play(name: string, url: string, authz: AuthzServer, steps: Step[]): Promise<number> {
  let failures = 0
  console.log(`\n${name} — ${url}`)
  for (const step of steps) {
    const token = step.token ?? (step.client ? await authz.token(step.client) : undefined)
    const response = await fetch(`${url}${step.path}`, {
      method: step.method,
      headers: token ? { authorization: `Bearer ${token}` } : {},
    })
    await response.arrayBuffer()
    const ok = response.status === step.expect
    if (!ok) failures++
    const verdict = response.status < 400 ? 'allowed' : 'denied '
    const challenge = response.headers.get('www-authenticate')
    console.log(
      `  ${ok ? '✓' : '✗'} ${step.method.padEnd(6)} ${step.path.padEnd(9)} ${step.what.padEnd(44)} → ${response.status} ${verdict}` +
        (challenge ? `  WWW-Authenticate: ${challenge}` : '') +
        (ok ? '' : `   (expected ${step.expect})`),
    )
    for (const line of describeEvents()) console.log(`        ↳ ${line}`)
  }
  return failures
}

async function main(): Promise<number> {
  const authz = await startAuthzServer({ port: ports.authz })
  const options = {
    issuer: authz.issuer,
    audience: [ITEMS_API, LEGACY_API],
    introspection: {
      clientId: RESOURCE_SERVER.clientId,
      clientSecret: RESOURCE_SERVER.clientSecret,
    },
    policy: fileURLToPath(new URL('../items.policy.yaml', import.meta.url)),
    onEvent: (event: ScopeguardEvent) => events.push(event),
  }
  const expressApi = await listen(createExpressApp(options).app, ports.express)
  const koaApi = await listen(createKoaApp(options).app.callback(), ports.koa)
  console.log(`authorization server: ${authz.issuer}`)
  console.log(`policy: examples/demo/items.policy.yaml (${describeEvents().join(', ')})`)

  const steps: Step[] = [
    { what: 'no token', method: 'GET', path: '/items', expect: 401 },
    {
      what: 'reader: RS256 JWT with read:items',
      method: 'GET',
      path: '/items',
      client: DEMO_CLIENTS.reader,
      expect: 200,
    },
    {
      what: 'es-reader: ES256 JWT with read:items',
      method: 'GET',
      path: '/items',
      client: DEMO_CLIENTS.esReader,
      expect: 200,
    },
    {
      what: 'legacy-client: opaque token (introspection)',
      method: 'GET',
      path: '/items',
      client: DEMO_CLIENTS.legacy,
      expect: 200,
    },
    {
      what: 'reader creates an item (needs write:items)',
      method: 'POST',
      path: '/items',
      client: DEMO_CLIENTS.reader,
      expect: 403,
    },
    {
      what: 'writer creates an item (beyond its ramp stage)',
      method: 'POST',
      path: '/items',
      client: DEMO_CLIENTS.writer,
      expect: 201,
    },
    {
      what: 'reader reads reports (monitor-mode rule)',
      method: 'GET',
      path: '/reports',
      client: DEMO_CLIENTS.reader,
      expect: 200,
    },
    {
      what: 'admin calls a path no rule maps (default deny)',
      method: 'GET',
      path: '/nowhere',
      client: DEMO_CLIENTS.admin,
      expect: 403,
    },
    {
      what: 'writer deletes (needs delete:items or admin)',
      method: 'DELETE',
      path: '/items/1',
      client: DEMO_CLIENTS.writer,
      expect: 403,
    },
    {
      what: 'admin deletes',
      method: 'DELETE',
      path: '/items/1',
      client: DEMO_CLIENTS.admin,
      expect: 204,
    },
    {
      what: 'a forged token',
      method: 'GET',
      path: '/items',
      token: 'eyJhbGciOiJub25lIn0.eyJzY29wZSI6ImFkbWluIn0.',
      expect: 401,
    },
  ]
  let failures = await play('Express 5 + @scopeguard/express', expressApi.url, authz, steps)
  failures += await play('Koa 3 + @scopeguard/koa', koaApi.url, authz, steps)

  const stop = async (): Promise<void> => {
    for (const { server } of [expressApi, koaApi]) {
      server.closeAllConnections()
      server.close()
    }
    await authz.stop()
  }
  if (keep) {
    console.log(`
Servers keep running (Ctrl+C stops them). Try:
  TOKEN=$(curl -s -u ${DEMO_CLIENTS.reader.clientId}:${DEMO_CLIENTS.reader.clientSecret} -d grant_type=client_credentials -d resource=${ITEMS_API} -d scope=read:items ${authz.issuer}/token | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')
  curl -i -H "Authorization: Bearer $TOKEN" ${expressApi.url}/items
  curl -i -X POST -H "Authorization: Bearer $TOKEN" ${koaApi.url}/items`)
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve)
      process.once('SIGTERM', resolve)
    })
  }
  await stop()
  console.log(
    failures === 0 ? '\nevery answer was the expected one' : `\n${failures} unexpected answer(s)`,
  )
  return failures === 0 ? 0 : 1
}

process.exitCode = await main()
