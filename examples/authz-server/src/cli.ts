#!/usr/bin/env node
/**
 * Runs the local authorization server until Ctrl+C:
 * `node examples/authz-server/dist/cli.js [--port 4000]` (or PORT=4000). Prints the issuer,
 * the resource indicators, the clients and a curl command to get a token.
 */
import { parseArgs } from 'node:util'
import { DEMO_CLIENTS, RESOURCE_SERVER } from './clients.js'
import { ITEMS_API, LEGACY_API } from './resources.js'
import { startAuthzServer, type AuthzServer } from './start-authz-server.js'

const DEFAULT_PORT = 4000

function portFrom(argv: string[], env: NodeJS.ProcessEnv): number {
  const { values } = parseArgs({
    args: argv,
    options: { port: { type: 'string', short: 'p' }, help: { type: 'boolean', short: 'h' } },
  })
  if (values.help) {
    console.log('usage: scopeguard-authz-server [--port <port>]   (default: $PORT or 4000)')
    process.exit(0)
  }
  const raw = values.port ?? env.PORT ?? String(DEFAULT_PORT)
  const port = Number(raw)
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new TypeError(`--port must be a port number (0-65535), got "${raw}"`)
  }
  return port
}

function describe(server: AuthzServer): string {
  const { reader } = DEMO_CLIENTS
  const rows = Object.values(DEMO_CLIENTS).map(
    (client) =>
      `  ${client.clientId.padEnd(14)} ${client.clientSecret.padEnd(22)} ${client.scopes.join(' ')}`,
  )
  return [
    `scopeguard development authorization server (never use in production)`,
    ``,
    `issuer       ${server.issuer}`,
    `discovery    ${server.issuer}/.well-known/openid-configuration`,
    `             ${server.issuer}/.well-known/oauth-authorization-server`,
    `jwks         ${server.jwksUri}`,
    `resources    ${ITEMS_API}  (JWT access tokens)`,
    `             ${LEGACY_API}  (opaque access tokens, introspection)`,
    ``,
    `clients (client_secret_basic)`,
    `  ${'client_id'.padEnd(14)} ${'client_secret'.padEnd(22)} scopes`,
    ...rows,
    `  ${RESOURCE_SERVER.clientId.padEnd(14)} ${RESOURCE_SERVER.clientSecret.padEnd(22)} (introspection only)`,
    ``,
    `get a token:`,
    `  curl -s -u ${reader.clientId}:${reader.clientSecret} ${server.issuer}/token \\`,
    `    -d grant_type=client_credentials -d scope=read:items -d resource=${ITEMS_API}`,
    ``,
    `Ctrl+C stops the server.`,
  ].join('\n')
}

async function main(): Promise<void> {
  const server = await startAuthzServer({ port: portFrom(process.argv.slice(2), process.env) })
  console.log(describe(server))
  const stop = (signal: NodeJS.Signals): void => {
    console.log(`\n${signal}: stopping`)
    server.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error)
        process.exit(1)
      },
    )
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error)
  process.exit(1)
})
