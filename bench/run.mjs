// `pnpm bench [--quick]`: HTTP load benchmarks of scopeguard beside its peers, micro
// benchmarks of the request path, and a memory check, then docs/benchmarks.md.
//
// Every server configuration runs in a child process of its own on 127.0.0.1; the load
// generator (autocannon) runs here. Configurations that are compared are measured in the
// same run, in alternating rounds (forward, then reversed order), and reported as medians:
// this machine is shared, so only ratios measured side by side mean anything.
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import {
  DEMO_CLIENTS,
  generateSigningKeys,
  startAuthzServer,
} from '@scopeguard-examples/authz-server'
import { runChild } from './lib/child.mjs'
import { describeEnvironment } from './lib/environment.mjs'
import { load } from './lib/load.mjs'
import { generatePolicy } from './lib/policy.mjs'
import { analyze } from './lib/analyze.mjs'
import { writeReport } from './lib/report.mjs'
import { mintLike } from './lib/tokens.mjs'

const AUDIENCE = 'https://items-api.scopeguard.test'
/**
 * Seconds a server may sit idle before it is warmed again ahead of a measurement. After about
 * 8 s without load, V8's memory reducer shrinks the heap and the young generation; the next
 * second of load then pays for many small scavenges while they grow back. A configuration
 * waits for its turn far longer than that while the others are measured, and its baseline,
 * measured between them, does not: without a warm-up of its own, each configuration would be
 * measured from a cold heap against a warm baseline.
 */
const IDLE_LIMIT = 5
const here = new URL('.', import.meta.url).pathname
const mean = (values) => values.reduce((sum, v) => sum + v, 0) / values.length

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    connections: { type: 'string' },
    only: { type: 'string' },
    configs: { type: 'string' },
    'skip-http': { type: 'boolean', default: false },
    'skip-micro': { type: 'boolean', default: false },
    'skip-memory': { type: 'boolean', default: false },
    'skip-paired': { type: 'boolean', default: false },
    'paired-duration': { type: 'string' },
    rewarm: { type: 'string' },
    profile: { type: 'string' },
    out: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
})
if (flags.help) {
  console.log(`pnpm bench [options]
  --quick             a short run (~2 minutes): fewer configurations, shorter measurements
  --rounds N          alternating rounds (default 5, quick 3)
  --duration S        seconds per measurement (default 1.5, quick 1)
  --connections N     concurrent connections (default 50)
  --only REGEX        only HTTP groups whose id matches (e.g. "express-hot")
  --configs A,B       only these configurations (and each group's baseline), e.g.
                      "express-sg,express-sg-p1000-nosink"
  --skip-http | --skip-micro | --skip-memory
  --skip-paired       no side-by-side phase (each configuration at once with its baseline)
  --paired-duration S seconds per side-by-side pair (default 4, quick 2)
  --rewarm S          seconds of untimed load before measuring a server that sat idle
                      for more than ${IDLE_LIMIT} s (default 1, quick 0.5; 0: never)
  --profile DIR       run the servers with --cpu-prof into DIR
  --out FILE          the Markdown report (default docs/benchmarks.md; "-" for none)`)
  process.exit(0)
}

const quick = flags.quick
const settings = {
  mode: quick ? 'quick' : 'full',
  rounds: Number(flags.rounds ?? (quick ? 3 : 5)),
  duration: Number(flags.duration ?? (quick ? 1 : 1.5)),
  pairedDuration: Number(flags['paired-duration'] ?? (quick ? 2 : 4)),
  warmup: quick ? 0.3 : 0.5,
  rewarm: Number(flags.rewarm ?? (quick ? 0.5 : 1)),
  idleLimit: IDLE_LIMIT,
  connections: Number(flags.connections ?? 50),
  coldTokens: quick ? 1500 : 4000,
  coldCacheEntries: 500,
}
const partial =
  flags.only !== undefined ||
  flags.configs !== undefined ||
  flags['skip-http'] ||
  flags['skip-micro']
const outFile = flags.out ?? (partial ? '-' : join(here, '..', 'docs', 'benchmarks.md'))

const started = Date.now()
const phases = {}
const log = (message) => console.log(`[${((Date.now() - started) / 1000).toFixed(0)}s] ${message}`)

// --- the configurations -------------------------------------------------------------------
/** Server configurations by id: framework, variant (see servers/*.mjs) and options. */
const SERVERS = {
  'express-none': { framework: 'express', variant: 'none', label: 'no auth' },
  'express-layers': {
    framework: 'express',
    variant: 'layers',
    label: 'no auth + two pass-through middleware (reference: the layers scopeguard adds)',
  },
  'express-sg': {
    framework: 'express',
    variant: 'scopeguard',
    label: 'scopeguard + requireScopes',
    scopeguard: true,
  },
  'express-sg-p10': {
    framework: 'express',
    variant: 'scopeguard-policy',
    policyRoutes: 10,
    sink: true,
    label: 'scopeguard, policy of 10 routes + baselines + contract + file sink',
    scopeguard: true,
  },
  'express-sg-p1000': {
    framework: 'express',
    variant: 'scopeguard-policy',
    policyRoutes: 1000,
    sink: true,
    label: 'scopeguard, policy of 1,000 routes + baselines + contract + file sink',
    scopeguard: true,
  },
  'express-sg-p1000-nosink': {
    framework: 'express',
    variant: 'scopeguard-policy',
    policyRoutes: 1000,
    sink: false,
    label: 'scopeguard, policy of 1,000 routes + baselines + contract, no sink',
    scopeguard: true,
  },
  'express-sg-cold': {
    framework: 'express',
    variant: 'scopeguard',
    cacheEntries: settings.coldCacheEntries,
    label: 'scopeguard + requireScopes',
    scopeguard: true,
  },
  'express-bearer': {
    framework: 'express',
    variant: 'oauth2-jwt-bearer',
    perAlg: true,
    label: 'express-oauth2-jwt-bearer + requiredScopes',
    peer: true,
  },
  'express-jwt': {
    framework: 'express',
    variant: 'express-jwt',
    perAlg: true,
    label: 'express-jwt + jwks-rsa + express-jwt-authz',
    peer: true,
  },
  'express-jose': {
    framework: 'express',
    variant: 'jose',
    perAlg: true,
    label: 'bare jose jwtVerify + scope check',
  },
  'koa-none': { framework: 'koa', variant: 'none', label: 'no auth' },
  'koa-sg': {
    framework: 'koa',
    variant: 'scopeguard',
    label: 'scopeguard + requireScopes',
    scopeguard: true,
  },
  'koa-sg-p10': {
    framework: 'koa',
    variant: 'scopeguard-policy',
    policyRoutes: 10,
    sink: true,
    label: 'scopeguard, policy of 10 routes + baselines + contract + file sink',
    scopeguard: true,
  },
  'koa-sg-p1000': {
    framework: 'koa',
    variant: 'scopeguard-policy',
    policyRoutes: 1000,
    sink: true,
    label: 'scopeguard, policy of 1,000 routes + baselines + contract + file sink',
    scopeguard: true,
  },
  'koa-jwt': {
    framework: 'koa',
    variant: 'koa-jwt',
    perAlg: true,
    label: 'koa-jwt + jwks-rsa + scope check',
    peer: true,
  },
}

/** Groups of configurations measured side by side, each against its baseline. */
function groups() {
  const list = []
  const hot = (framework, alg, configs) =>
    list.push({
      id: `${framework}-hot-${alg.toLowerCase()}`,
      title: `${framework === 'express' ? 'Express 5' : 'Koa 3'}, ${alg} token (verified once, then cached)`,
      framework,
      alg,
      cold: false,
      baseline: `${framework}-none`,
      configs,
    })
  const cold = (alg, configs) =>
    list.push({
      id: `express-cold-${alg.toLowerCase()}`,
      title: `Express 5, cold path: a different ${alg} token on every request`,
      framework: 'express',
      alg,
      cold: true,
      baseline: 'express-jose',
      configs,
    })
  const express = [
    'express-none',
    'express-layers',
    'express-sg',
    'express-sg-p10',
    'express-sg-p1000',
  ]
  const expressPeers = ['express-bearer', 'express-jwt']
  const koa = ['koa-none', 'koa-sg', 'koa-sg-p10', 'koa-sg-p1000', 'koa-jwt']
  if (quick) {
    hot('express', 'RS256', [...express, ...expressPeers])
    hot('koa', 'RS256', koa)
  } else {
    hot('express', 'RS256', [...express, 'express-sg-p1000-nosink', ...expressPeers])
    hot('express', 'ES256', [...express, ...expressPeers])
    hot('koa', 'RS256', koa)
    hot('koa', 'ES256', koa)
  }
  cold('RS256', ['express-jose', 'express-sg-cold'])
  cold('ES256', ['express-jose', 'express-sg-cold'])
  const only = flags.only === undefined ? undefined : new RegExp(flags.only)
  const picked = flags.configs === undefined ? undefined : new Set(flags.configs.split(','))
  for (const id of picked ?? []) {
    if (!(id in SERVERS)) throw new Error(`--configs: no configuration ${id}`)
  }
  return list
    .filter((group) => only === undefined || only.test(group.id))
    .map((group) =>
      picked === undefined
        ? group
        : {
            ...group,
            configs: group.configs.filter((id) => id === group.baseline || picked.has(id)),
          },
    )
    .filter((group) => group.configs.length > 1)
}

// --- servers ------------------------------------------------------------------------------
const running = new Map()

/** Starts (once) the server of a configuration for an algorithm; resolves with its URL. */
async function server(id, alg, context) {
  const spec = SERVERS[id]
  const key = spec.perAlg ? `${id}:${alg}` : id
  const found = running.get(key)
  if (found !== undefined) return found
  const config = {
    variant: spec.variant,
    issuer: context.issuer,
    audience: AUDIENCE,
    jwksUri: context.jwksUri,
    alg,
    cacheEntries: spec.cacheEntries,
    policyFile: spec.policyRoutes ? context.policyFiles[spec.policyRoutes] : undefined,
    sinkFile: spec.sink ? join(context.dir, `${key}.audit.jsonl`) : undefined,
  }
  const execArgv = flags.profile
    ? ['--cpu-prof', `--cpu-prof-dir=${flags.profile}`, `--cpu-prof-name=${key}.cpuprofile`]
    : []
  const child = fork(
    join(here, 'servers', `${spec.framework}-server.mjs`),
    [JSON.stringify(config)],
    {
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  )
  const [message] = await once(child, 'message')
  const entry = { key, child, url: `http://127.0.0.1:${message.port}/items` }
  running.set(key, entry)
  await check(entry, spec, context.tokens[alg])
  return entry
}

/** A configuration must answer 200 to the benchmark token and 401 without one (unless no auth). */
async function check(entry, spec, token) {
  const ok = await fetch(entry.url, { headers: { authorization: `Bearer ${token}` } })
  const anonymous = await fetch(entry.url)
  const expected = spec.variant === 'none' || spec.variant === 'layers' ? 200 : 401
  if (ok.status !== 200 || anonymous.status !== expected) {
    throw new Error(
      `${entry.key}: expected 200 with the token and ${expected} without, got ${ok.status} and ${anonymous.status}`,
    )
  }
}

/** Asks a server for its counters (guard stats, audit stats, CPU time). */
async function statsOf(entry) {
  entry.child.send({ stats: true })
  const [message] = await once(entry.child, 'message')
  return message.stats
}

async function stopServers() {
  await Promise.all(
    [...running.values()].map(async ({ child }) => {
      if (child.exitCode !== null) return
      child.send({ stop: true })
      await Promise.race([once(child, 'exit'), new Promise((r) => setTimeout(r, 5000))])
      if (child.exitCode === null) child.kill()
    }),
  )
}

// --- one measurement ----------------------------------------------------------------------
/** The load of a group's requests on one server (the same token, or the cold tokens in turn). */
async function loadOf(entry, group, context, duration, connections = settings.connections) {
  const result = await load({
    url: entry.url,
    connections,
    duration,
    ...(group.cold
      ? { tokens: context.coldTokens[group.alg] }
      : { token: context.tokens[group.alg] }),
  })
  entry.loadedAt = Date.now()
  return result
}

/** Untimed load on a server that sat idle for more than IDLE_LIMIT seconds (see there). */
async function rewarm(entry, group, context) {
  if (settings.rewarm <= 0 || Date.now() - (entry.loadedAt ?? 0) <= IDLE_LIMIT * 1000) return
  await loadOf(entry, group, context, settings.rewarm)
}

async function measure(entry, group, context, duration) {
  await rewarm(entry, group, context)
  const before = await statsOf(entry)
  const result = await loadOf(entry, group, context, duration)
  const after = await statsOf(entry)
  const cpu = after.cpu.user + after.cpu.system - (before.cpu.user + before.cpu.system)
  return { ...result, serverCpuPerRequest: result.requests > 0 ? cpu / result.requests : NaN }
}

async function runHttp(context) {
  const plan = groups()
  const rounds = []
  for (const group of plan) {
    for (const id of group.configs) await server(id, group.alg, context)
  }
  log(`${running.size} servers up; warming up`)
  for (const group of plan) {
    for (const id of group.configs) {
      await loadOf(await server(id, group.alg, context), group, context, settings.warmup)
    }
  }
  for (let round = 0; round < settings.rounds; round++) {
    const measured = {}
    for (const group of plan) {
      // The baseline runs before, between and after the others (B c1 B c2 … B): each
      // configuration is compared with the mean of the baseline runs right around it.
      const others = group.configs.filter((id) => id !== group.baseline)
      const order = round % 2 === 0 ? others : [...others].reverse()
      const baseline = await server(group.baseline, group.alg, context)
      const run = async (entry) => {
        const result = await measure(entry, group, context, settings.duration)
        if (result.non2xx > 0 || result.errors > 0) {
          throw new Error(`${entry.key}: ${result.non2xx} non-2xx answers, ${result.errors} errors`)
        }
        return result
      }
      const baselines = [await run(baseline)]
      measured[group.id] = {}
      for (const id of order) {
        const result = await run(await server(id, group.alg, context))
        baselines.push(await run(baseline))
        const around = baselines.slice(-2)
        measured[group.id][id] = {
          ...result,
          baselineRps: mean(around.map((b) => b.rps)),
          baselineCpu: mean(around.map((b) => b.serverCpuPerRequest)),
        }
      }
      const base = {
        ...baselines[0],
        rps: mean(baselines.map((b) => b.rps)),
        serverCpuPerRequest: mean(baselines.map((b) => b.serverCpuPerRequest)),
        latencyP50: mean(baselines.map((b) => b.latencyP50)),
        latencyP99: mean(baselines.map((b) => b.latencyP99)),
      }
      measured[group.id][group.baseline] = {
        ...base,
        baselineRps: base.rps,
        baselineCpu: base.serverCpuPerRequest,
        runs: baselines.map((b) => b.rps),
      }
      const line = group.configs
        .map((id) => `${id} ${Math.round(measured[group.id][id].rps)}`)
        .join(', ')
      log(`round ${round + 1}/${settings.rounds} ${group.id}: ${line}`)
    }
    rounds.push(measured)
  }
  const paired = flags['skip-paired'] ? undefined : await runPaired(plan, context)
  const servers = {}
  for (const entry of running.values()) {
    const stats = await statsOf(entry)
    servers[entry.key] = { guard: stats.guard, audit: stats.audit, rss: stats.memory.rss }
  }
  return { plan, rounds, paired, servers, labels: SERVERS }
}

/**
 * Side by side in time: each configuration of a hot group runs at once with the group's
 * baseline, both loaded with half the connections for the same seconds, so that whatever
 * else the machine does in that window weighs on both. Their CPU per request (and req/s) are
 * compared within the pair. Returns, per group and configuration, one entry per round.
 */
async function runPaired(plan, context) {
  const paired = {}
  const connections = Math.max(1, Math.round(settings.connections / 2))
  for (let round = 0; round < settings.rounds; round++) {
    for (const group of plan) {
      if (group.cold) continue
      const others = group.configs.filter((id) => id !== group.baseline)
      const order = round % 2 === 0 ? others : [...others].reverse()
      const baseline = await server(group.baseline, group.alg, context)
      paired[group.id] ??= {}
      for (const id of order) {
        const entry = await server(id, group.alg, context)
        const pair = [baseline, entry]
        for (const e of pair) await rewarm(e, group, context)
        const before = await Promise.all(pair.map(statsOf))
        const results = await Promise.all(
          pair.map((e) => loadOf(e, group, context, settings.pairedDuration, connections)),
        )
        const after = await Promise.all(pair.map(statsOf))
        const cpu = pair.map((_, i) => {
          const used =
            after[i].cpu.user + after[i].cpu.system - (before[i].cpu.user + before[i].cpu.system)
          return used / results[i].requests
        })
        for (const [i, result] of results.entries()) {
          if (result.non2xx > 0 || result.errors > 0) {
            throw new Error(
              `${pair[i].key} (side by side): ${result.non2xx} non-2xx, ${result.errors} errors`,
            )
          }
        }
        ;(paired[group.id][id] ??= []).push({
          rps: results[1].rps,
          baselineRps: results[0].rps,
          cpu: cpu[1],
          baselineCpu: cpu[0],
        })
      }
      log(`side by side, round ${round + 1}/${settings.rounds} ${group.id}`)
    }
  }
  return paired
}

// --- main ---------------------------------------------------------------------------------
const dir = await mkdtemp(join(tmpdir(), 'scopeguard-bench-'))
const keys = await generateSigningKeys()
const authz = await startAuthzServer({ keys, accessTokenTtl: 7200 })
let exitCode = 0
try {
  const environment = await describeEnvironment()
  log(`${settings.mode} run on ${environment.machine.cpuModel} ×${environment.machine.cpus}`)
  const tokens = {
    RS256: await authz.token(DEMO_CLIENTS.reader),
    ES256: await authz.token(DEMO_CLIENTS.esReader),
  }
  const policyFiles = {}
  for (const routes of [10, 1000]) {
    policyFiles[routes] = join(dir, `policy-${routes}.json`)
    await writeFile(policyFiles[routes], JSON.stringify(generatePolicy({ routes }), null, 2))
  }
  const context = {
    issuer: authz.issuer,
    jwksUri: authz.jwksUri,
    tokens,
    policyFiles,
    dir,
    coldTokens: {},
  }
  const results = { settings, environment, phases }

  if (!flags['skip-http']) {
    const t = Date.now()
    for (const alg of ['RS256', 'ES256']) {
      context.coldTokens[alg] = await mintLike(tokens[alg], keys.keys, settings.coldTokens)
    }
    log(`minted ${settings.coldTokens} cold tokens per algorithm`)
    results.http = await runHttp(context)
    await stopServers()
    phases.http = (Date.now() - t) / 1000
  }
  if (!flags['skip-micro']) {
    const t = Date.now()
    log('micro benchmarks')
    results.micro = await runChild(join(here, 'micro.mjs'), {
      issuer: authz.issuer,
      audience: AUDIENCE,
      jwksUri: authz.jwksUri,
      tokens,
      privateKeys: keys.keys,
      quick,
    })
    phases.micro = (Date.now() - t) / 1000
  }
  if (!flags['skip-memory']) {
    const t = Date.now()
    log('memory')
    results.memory = await runChild(
      join(here, 'memory.mjs'),
      { quick },
      {
        execArgv: ['--expose-gc'],
      },
    )
    phases.memory = (Date.now() - t) / 1000
  }
  phases.total = (Date.now() - started) / 1000
  results.environment.loadAfter = (await describeEnvironment()).machine.load
  results.analysis = analyze(results)
  const json = join(tmpdir(), `scopeguard-bench-${settings.mode}-${started}.json`)
  await writeFile(json, JSON.stringify(results, null, 2))
  log(`raw results: ${json}`)
  if (outFile !== '-') {
    await writeReport(results, outFile)
    log(`wrote ${outFile}`)
  }
  for (const target of results.analysis.targets) {
    console.log(`${target.met ? 'MET   ' : 'MISSED'} ${target.name}: ${target.figure}`)
  }
  log(`done in ${phases.total.toFixed(0)} s`)
} catch (error) {
  console.error(error)
  exitCode = 1
} finally {
  await stopServers()
  await authz.stop()
  await rm(dir, { recursive: true, force: true })
}
process.exit(exitCode)
