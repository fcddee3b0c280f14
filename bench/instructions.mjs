// `node bench/instructions.mjs A B [options]`: how many CPU instructions one request costs in
// one app configuration, built from two checkouts of scopeguard (each installed and built),
// counted by valgrind. The count hardly moves from run to run (within 1-2%), where CPU
// time on a shared machine moves by 10% or more: it tells apart changes of 1-2% that
// `bench/compare.mjs` cannot. It is a count, not a time: a change that trades instructions
// for cache misses or garbage collection pauses shows only in `compare.mjs`, so a change is
// judged by both.
//
// Each checkout's app (bench/lib/in-process.mjs) runs under valgrind twice, with and without
// the measured requests after the same warm-up; the difference, divided by the requests, is
// the cost of one request. V8 runs single-threaded with fixed seeds, so that it compiles and
// collects garbage at the same points in every run. Needs valgrind (`apt-get install -y
// valgrind`); about a minute per checkout with the defaults.
//
//   git worktree add ../before main && (cd ../before && pnpm install && npx tsc -b)
//   node bench/instructions.mjs ../before . --framework koa --variant scopeguard-policy --sink
import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { exportJWK, generateKeyPair } from 'jose'
import { CONFIGURATION_OPTIONS } from './lib/configuration-options.mjs'
import { generatePolicy } from './lib/policy.mjs'

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    ...CONFIGURATION_OPTIONS,
    warmup: { type: 'string', default: '3000' },
    requests: { type: 'string', default: '5000' },
    runs: { type: 'string', default: '1' },
  },
})
const VARIANTS = ['none', 'scopeguard', 'scopeguard-policy']
if (flags.help || positionals.length !== 2) {
  console.log(`node bench/instructions.mjs A B [options]   (A, B: checkouts of scopeguard, built)
  --framework express|koa      default express
  --variant NAME               ${VARIANTS.join(' | ')} (default scopeguard)
  --sink                       with scopeguard-policy: a file sink that writes every decision
  --routes N                   rules in the generated policy (default 1000)
  --warmup N --requests N      requests before counting, and counted (default 3000, 5000)
  --runs N                     measure each checkout N times, to see the spread (default 1)`)
  process.exit(flags.help ? 0 : 1)
}
if (!VARIANTS.includes(flags.variant)) {
  console.error(`unknown variant ${flags.variant}: one of ${VARIANTS.join(', ')}`)
  process.exit(1)
}
if (spawnSync('valgrind', ['--version']).error !== undefined) {
  console.error('valgrind is not installed: apt-get install -y valgrind')
  process.exit(1)
}
const checkouts = positionals.map((dir) => resolve(dir))
for (const dir of checkouts) {
  const adapter = join(dir, 'packages', flags.framework, 'dist', 'index.js')
  if (!existsSync(adapter))
    throw new Error(`${dir}: no ${adapter} (a built checkout of scopeguard?)`)
}

const driver = fileURLToPath(new URL('lib/in-process.mjs', import.meta.url))
const dir = await mkdtemp(join(tmpdir(), 'scopeguard-instructions-'))

/** Instructions of one whole run of the driver, as valgrind counts them. */
function countRun(config) {
  const args = [
    '--tool=cachegrind',
    '--cache-sim=no',
    '--smc-check=all-non-file', // V8 writes the code it runs
    '--cachegrind-out-file=/dev/null',
    process.execPath,
    '--single-threaded',
    '--hash-seed=1',
    '--random-seed=1',
    driver,
    JSON.stringify(config),
  ]
  return new Promise((done, fail) => {
    const child = spawn('valgrind', args, { stdio: ['ignore', 'inherit', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk) => (stderr += chunk))
    child.on('error', fail)
    child.on('close', (code) => {
      const match = /I\s+refs:\s+([\d,]+)/.exec(stderr)
      if (code !== 0 || match === null) {
        fail(new Error(`${config.checkout}: the run failed (exit ${code})\n${stderr.slice(-2000)}`))
      } else done(Number(match[1].replaceAll(',', '')))
    })
  })
}

try {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
  const keyFile = join(dir, 'key.json')
  await writeFile(
    keyFile,
    JSON.stringify({
      privateJwk: await exportJWK(privateKey),
      publicJwk: await exportJWK(publicKey),
    }),
  )
  const policyFile = join(dir, 'policy.json')
  await writeFile(policyFile, JSON.stringify(generatePolicy({ routes: Number(flags.routes) })))
  const requests = Number(flags.requests)
  const perRequest = checkouts.map(() => [])
  for (let run = 0; run < Number(flags.runs); run++) {
    for (const [i, checkout] of checkouts.entries()) {
      const config = (count) => ({
        checkout,
        framework: flags.framework,
        variant: flags.variant,
        keyFile,
        policyFile,
        sinkFile:
          flags.sink && flags.variant === 'scopeguard-policy'
            ? join(dir, `audit-${i}-${count}.jsonl`)
            : undefined,
        warmup: Number(flags.warmup),
        requests: count,
      })
      // The two runs of a checkout at once (a machine has two cores or more).
      const [without, withRequests] = await Promise.all([
        countRun(config(0)),
        countRun(config(requests)),
      ])
      perRequest[i].push((withRequests - without) / requests)
      console.log(
        `${checkout}: ${Math.round(perRequest[i].at(-1)).toLocaleString('en')} instructions per request`,
      )
    }
  }
  const mean = (list) => list.reduce((sum, x) => sum + x, 0) / list.length
  const [a, b] = perRequest.map(mean)
  console.log(
    `B / A, instructions per request: ${(b / a).toFixed(4)} (${flags.framework} ${flags.variant}` +
      `${flags.sink ? ' + sink' : ''}; B - A = ${Math.round(b - a).toLocaleString('en')})`,
  )
} finally {
  await rm(dir, { recursive: true, force: true })
}
