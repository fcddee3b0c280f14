// `node bench/compare.mjs A B [options]`: one server configuration from two checkouts of
// scopeguard (two worktrees, each installed and built), loaded at the same time, side by side,
// to tell whether a change made it cheaper. Whatever else the machine does in a round weighs
// on both servers alike, so their CPU per request can be compared within the round even on a
// busy machine, where two runs one after the other differ by more than most changes do.
//
//   git worktree add ../before main && (cd ../before && pnpm install && npx tsc -b)
//   node bench/compare.mjs ../before . --framework koa --variant scopeguard-policy --sink
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import {
  DEMO_CLIENTS,
  generateSigningKeys,
  startAuthzServer,
} from '@scopeguard-examples/authz-server'
import { CONFIGURATION_OPTIONS } from './lib/configuration-options.mjs'
import { load } from './lib/load.mjs'
import { generatePolicy } from './lib/policy.mjs'
import { median } from './lib/stats.mjs'

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    ...CONFIGURATION_OPTIONS,
    alg: { type: 'string', default: 'RS256' },
    rounds: { type: 'string', default: '6' },
    duration: { type: 'string', default: '4' },
    connections: { type: 'string', default: '25' },
  },
})
if (flags.help || positionals.length !== 2) {
  console.log(`node bench/compare.mjs A B [options]   (A, B: checkouts of scopeguard, built)
  --framework express|koa      default express
  --variant NAME               a variant of bench/servers/<framework>-server.mjs (default scopeguard)
  --sink                       with scopeguard-policy: a file sink that writes every decision
  --routes N                   rules in the generated policy (default 1000)
  --alg RS256|ES256            the token (default RS256)
  --rounds N --duration S      rounds of S seconds each (default 6 × 4); the first is a warm-up
  --connections N              per server (default 25)`)
  process.exit(flags.help ? 0 : 1)
}

const checkouts = positionals.map((dir) => resolve(dir))
for (const dir of checkouts) {
  const script = join(dir, 'bench', 'servers', `${flags.framework}-server.mjs`)
  if (!existsSync(script)) throw new Error(`${dir}: no ${script} (a built checkout of scopeguard?)`)
}

const dir = await mkdtemp(join(tmpdir(), 'scopeguard-compare-'))
const keys = await generateSigningKeys()
const authz = await startAuthzServer({ keys, accessTokenTtl: 7200 })
const servers = []
try {
  const token = await authz.token(
    flags.alg === 'ES256' ? DEMO_CLIENTS.esReader : DEMO_CLIENTS.reader,
  )
  const policyFile = join(dir, 'policy.json')
  await writeFile(policyFile, JSON.stringify(generatePolicy({ routes: Number(flags.routes) })))
  for (const [i, checkout] of checkouts.entries()) {
    const config = {
      variant: flags.variant,
      issuer: authz.issuer,
      audience: 'https://items-api.scopeguard.test',
      jwksUri: authz.jwksUri,
      alg: flags.alg,
      policyFile,
      sinkFile: flags.sink ? join(dir, `audit-${i}.jsonl`) : undefined,
    }
    const script = join(checkout, 'bench', 'servers', `${flags.framework}-server.mjs`)
    const child = fork(script, [JSON.stringify(config)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    const [message] = await once(child, 'message')
    servers.push({ checkout, child, url: `http://127.0.0.1:${message.port}/items` })
  }
  const cpuOf = async ({ child }) => {
    child.send({ stats: true })
    const [message] = await once(child, 'message')
    return message.stats.cpu.user + message.stats.cpu.system
  }
  const ratios = []
  for (let round = 0; round < Number(flags.rounds); round++) {
    const before = await Promise.all(servers.map(cpuOf))
    const results = await Promise.all(
      servers.map((server) =>
        load({
          url: server.url,
          token,
          connections: Number(flags.connections),
          duration: Number(flags.duration),
        }),
      ),
    )
    const after = await Promise.all(servers.map(cpuOf))
    const perRequest = results.map((result, i) => (after[i] - before[i]) / result.requests)
    for (const [i, result] of results.entries()) {
      if (result.non2xx > 0 || result.errors > 0) {
        throw new Error(
          `${checkouts[i]}: ${result.non2xx} non-2xx answers, ${result.errors} errors`,
        )
      }
    }
    if (round > 0) ratios.push(perRequest[1] / perRequest[0])
    console.log(
      `round ${round + 1}${round === 0 ? ' (warm-up)' : ''}: ` +
        servers
          .map(
            (s, i) =>
              `${s.checkout} ${perRequest[i].toFixed(1)} µs/req, ${Math.round(results[i].rps)} req/s`,
          )
          .join(' | '),
    )
  }
  const ratio = median(ratios)
  console.log(
    `B / A, CPU per request: ${ratio.toFixed(3)} (median of ${ratios.length} rounds, ` +
      `${Math.min(...ratios).toFixed(3)}–${Math.max(...ratios).toFixed(3)})`,
  )
} finally {
  for (const { child } of servers) {
    if (child.exitCode !== null) continue
    child.send({ stop: true })
    await Promise.race([once(child, 'exit'), new Promise((r) => setTimeout(r, 5000))])
    if (child.exitCode === null) child.kill()
  }
  await authz.stop()
  await rm(dir, { recursive: true, force: true })
}
process.exit(0)
