/**
 * Two instances of the items API (the Express and the Koa example, as separate processes on
 * different ports) share one Redis. An operator revokes a client and grants an elevation
 * through Redis, as `scopeguard revoke` / `scopeguard elevate` do, and the script shows both
 * instances enforcing each change, with the time it took. Needs `redis-server` on the PATH.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { DEMO_CLIENTS, startAuthzServer } from '@scopeguard-examples/authz-server'
import {
  compilePolicy,
  elevationChange,
  loadPolicyDocument,
  revocationChange,
  unrevocationChange,
} from '@scopeguard/core'
import { redisStore } from '@scopeguard/redis'

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url))
const policyFile = here('../../demo/items.policy.yaml')

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  return port
}

async function startProcess(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp,
): Promise<ChildProcess> {
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} did not start: ${output}`)), 10_000)
    const read = (chunk: Buffer): void => {
      output += chunk.toString()
      if (ready.test(output)) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stdout?.on('data', read)
    child.stderr?.on('data', read)
    child.on('error', (error) => reject(new Error(`cannot run ${command}: ${error.message}`)))
  })
  return child
}

/** Polls an instance until it answers `status`; returns how long that took. */
async function until(url: string, token: string, method: string, status: number): Promise<number> {
  const started = performance.now()
  for (;;) {
    const response = await fetch(url, { method, headers: { authorization: `Bearer ${token}` } })
    await response.arrayBuffer()
    if (response.status === status) return performance.now() - started
    if (performance.now() - started > 10_000)
      throw new Error(`${url} still answers ${response.status}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

async function main(): Promise<void> {
  const redisPort = await freePort()
  const redisUrl = `redis://127.0.0.1:${redisPort}`
  const children: ChildProcess[] = []
  const authz = await startAuthzServer()
  try {
    children.push(
      await startProcess(
        'redis-server',
        ['--port', String(redisPort), '--save', '', '--appendonly', 'no'],
        {},
        /Ready to accept/,
      ),
    )
    const env = {
      SCOPEGUARD_ISSUER: authz.issuer,
      SCOPEGUARD_POLICY: policyFile,
      SCOPEGUARD_REDIS_URL: redisUrl,
    }
    const ports = [await freePort(), await freePort()]
    children.push(
      await startProcess(
        'node',
        [here('../../express-api/dist/server.js')],
        { ...env, PORT: String(ports[0]) },
        /items API/,
      ),
    )
    children.push(
      await startProcess(
        'node',
        [here('../../koa-api/dist/server.js')],
        { ...env, PORT: String(ports[1]) },
        /items API/,
      ),
    )
    const instances = ports.map((port) => `http://127.0.0.1:${port}`)
    console.log(`redis ${redisUrl}; instances ${instances.join(' and ')}`)

    const operator = redisStore({ url: redisUrl }) // what the scopeguard CLI uses
    const text = readFileSync(policyFile, 'utf8')
    const policy = compilePolicy(loadPolicyDocument(text, { file: policyFile }), text, policyFile)
    const reader = await authz.token(DEMO_CLIENTS.reader)
    for (const url of instances) await until(`${url}/items`, reader, 'GET', 200)
    console.log('reader reads items on both instances: 200')

    await operator.apply(
      revocationChange(
        { clientId: 'reader', reason: 'drill: compromised integration' },
        Date.now(),
        600,
      ),
    )
    const revoked = await Promise.all(
      instances.map((url) => until(`${url}/items`, reader, 'GET', 401)),
    )
    console.log(
      `revoked client "reader": both instances answer 401 after ${revoked.map((ms) => `${ms.toFixed(0)} ms`).join(' and ')}`,
    )
    await operator.apply(unrevocationChange({ clientId: 'reader' }))
    await Promise.all(instances.map((url) => until(`${url}/items`, reader, 'GET', 200)))
    console.log('unrevoked: 200 again on both')

    const grant = elevationChange(
      {
        clientId: 'reader',
        scopes: ['write:items'],
        ttl: 3,
        reason: 'one-off import',
        approvedBy: 'sre-on-call',
      },
      policy,
      Date.now(),
      3600,
    )
    await operator.apply(grant)
    const elevated = await Promise.all(
      instances.map((url) => until(`${url}/items`, reader, 'POST', 201)),
    )
    console.log(
      `elevated "reader" with write:items for 3 s: both instances allow POST /items after ${elevated.map((ms) => `${ms.toFixed(0)} ms`).join(' and ')}`,
    )
    const expired = await Promise.all(
      instances.map((url) => until(`${url}/items`, reader, 'POST', 403)),
    )
    console.log(
      `the grant expired by itself: both instances deny POST /items again (after ${expired.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(' and ')})`,
    )
    await operator.close()
  } finally {
    for (const child of children.reverse()) child.kill('SIGTERM')
    await authz.stop()
  }
}

await main()
