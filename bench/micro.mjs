// Micro benchmarks of the request path's parts, in one process of their own (the runner
// forks it): token extraction, a cache hit, route matching and decisions over policies of
// 10 / 1,000 / 10,000 rules, requirements with implications, a full judgeRoute, event
// enqueue, and the cold path against jose's bare jwtVerify.
import { hash } from 'node:crypto'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { measure } from 'mitata'
import {
  compilePolicy,
  compileRequirement,
  createGuard,
  decideRoute,
  expandScopes,
  extractToken,
  findRule,
  loadPolicyDocument,
  memorySink,
  satisfies,
} from '@scopeguard/core'
// Internal helpers, imported by path: the bench measures them, the package does not export them.
import { createChallenges } from '../packages/core/dist/responses.js'
import { tokenFingerprint } from '../packages/core/dist/verify/token-cache.js'
import { report } from './lib/child.mjs'
import { generatePolicy } from './lib/policy.mjs'
import { median } from './lib/stats.mjs'
import { mintLike } from './lib/tokens.mjs'

const input = JSON.parse(process.argv[2])
const { issuer, audience, jwksUri, quick } = input
const SIZES = [10, 1000, 10_000]
const timing = quick ? { min_cpu_time: 150e6 } : { min_cpu_time: 500e6 }
const results = []
const policies = []

/** Measures `fn` with mitata; keeps the median and the mean per call, in nanoseconds. */
async function bench(group, name, fn, extra = {}) {
  const stats = await measure(fn, timing)
  const row = { group, name, p50: stats.p50, avg: stats.avg, p99: stats.p99, ...extra }
  results.push(row)
  process.stderr.write(`  ${group} / ${name}: ${(stats.p50 / 1000).toFixed(3)} µs\n`)
  return row
}

const flat = (text) => Buffer.from(text, 'latin1').toString('latin1')
const request = (token, as = (text) => text) => {
  const authorization = as(`Bearer ${token}`)
  return {
    method: 'GET',
    path: '/items',
    headers: { authorization, host: '127.0.0.1' },
    rawHeaders: ['Host', '127.0.0.1', 'Authorization', authorization],
  }
}

// --- token extraction, cache key, cache hit -------------------------------------------
const transports = { header: true, query: false, formBody: false }
const hot = request(input.tokens.RS256)
await bench('token', 'extractToken (RS256 token, Authorization header)', () =>
  extractToken(hot, transports, 8192),
)
await bench('token', 'tokenFingerprint: SHA-256 of the token (once per verification)', () =>
  tokenFingerprint(input.tokens.RS256),
)
await bench('token', 'crypto.hash(sha256) of the token (one-shot, Node ≥ 20.12)', () =>
  hash('sha256', input.tokens.RS256, 'base64url'),
)
const guard = createGuard({ issuer, audience })
const first = await guard.authenticate(hot)
if (!first.allowed) throw new Error(`the benchmark token was refused: ${first.reason}`)
const auth = first.auth
await bench('token', 'cache hit: guard.authenticate with a cached token', () =>
  guard.authenticate(hot),
)
const readItems = compileRequirement('read:items')
await bench('token', 'cache hit + requireScopes: authenticate then authorize', async () => {
  const decision = await guard.authenticate(hot)
  return guard.authorize(decision.auth, readItems, { method: 'GET', path: '/items' })
})

// --- policies of 10 / 1,000 / 10,000 rules -----------------------------------------------
for (const size of SIZES) {
  const text = JSON.stringify(generatePolicy({ routes: size }), null, 2)
  const started = performance.now()
  const document = loadPolicyDocument(text, { format: 'json' })
  const loaded = performance.now()
  const policy = compilePolicy(document, text)
  policies.push({
    size,
    policy,
    text,
    loadMs: loaded - started,
    compileMs: performance.now() - loaded,
  })
  process.stderr.write(`  policy of ${size} rules: loaded in ${(loaded - started).toFixed(0)} ms\n`)
}

const middle = (size) => `/svc${Math.floor(size / 2 / 5)}/items/:id`
for (const { size, policy } of policies) {
  const route = { method: 'GET', template: middle(size), params: { id: '7' } }
  if (findRule(policy, route) === undefined) throw new Error(`no rule for ${route.template}`)
  await bench('match', `findRule (Map lookup), ${size} rules`, () => findRule(policy, route), {
    rules: size,
  })
}
for (const { size, policy } of policies) {
  // What a matcher without the key lookup does: walk the rules until one fits.
  const rules = [...policy.routes.values()]
  const key = `GET ${middle(size)}`
  await bench(
    'match',
    `linear scan of the same rules (for comparison), ${size} rules`,
    () => rules.find((rule) => rule.key === key),
    { rules: size },
  )
}

const challenges = createChallenges('api')
const itemsRoute = { method: 'GET', template: '/items', params: {} }
for (const { size, policy } of policies) {
  const decision = decideRoute(policy, itemsRoute, auth, challenges)
  if (!decision.allowed || decision.violations) throw new Error('decideRoute did not allow')
  await bench(
    'decide',
    `decideRoute (rule + baseline + contract), ${size} rules`,
    () => decideRoute(policy, itemsRoute, auth, challenges),
    { rules: size },
  )
}

const largest = policies.at(-1).policy
const writeScopes = new Set(['write:items'])
await bench('requirement', 'satisfies(read:items) for write:items, through implies', () =>
  satisfies(readItems, expandScopes(largest, writeScopes)),
)
const anyOf = compileRequirement('(delete:items and write:items) or admin')
const adminScopes = new Set(['admin'])
await bench(
  'requirement',
  'satisfies((delete and write) or admin) for admin, through implies',
  () => satisfies(anyOf, expandScopes(largest, adminScopes)),
)

// A full decision as the request path makes it: guard.judgeRoute (rule, usage, recording).
const judged = []
for (const size of [10, 10_000]) {
  const { text } = policies.find((entry) => entry.size === size)
  const policyGuard = createGuard({ issuer, audience, policy: JSON.parse(text) })
  judged.push(
    await bench(
      'decide',
      `guard.judgeRoute, no sink (full decision, inventory on), ${size} rules`,
      () => policyGuard.judgeRoute(auth, itemsRoute, { method: 'GET', path: '/items' }),
      { rules: size },
    ),
  )
  await policyGuard.close()
}

// --- events: the decision record and its enqueue -----------------------------------------
{
  const { text } = policies[0]
  const sink = memorySink(1000)
  const sinkGuard = createGuard({ issuer, audience, policy: JSON.parse(text), sinks: [sink] })
  const row = await bench(
    'events',
    'guard.judgeRoute with a sink (record built and enqueued), 10 rules',
    () => sinkGuard.judgeRoute(auth, itemsRoute, { method: 'GET', path: '/items' }),
  )
  const without = judged[0]
  results.push({
    group: 'events',
    name: 'record + enqueue (difference of the two judgeRoute medians)',
    p50: row.p50 - without.p50,
    avg: row.avg - without.avg,
    p99: NaN,
  })
  await sinkGuard.close(1000)
}

// --- the cold path: a token never seen before, against jose's jwtVerify ----------------------
const cold = []
for (const alg of ['RS256', 'ES256']) {
  const count = quick ? 1500 : 3000
  // Flat strings, as an HTTP parser hands them over (the minted tokens and a template
  // literal would be rope strings, which the first reader would have to flatten).
  const tokens = (await mintLike(input.tokens[alg], input.privateKeys, count)).map(flat)
  const requests = tokens.map((token) => request(token, flat))
  // A cache smaller than the token rotation: every call is a miss (and an eviction).
  const coldGuard = createGuard({ issuer, audience, cache: { maxEntries: 500 } })
  const keys = createRemoteJWKSet(new URL(jwksUri))
  const options = { issuer, audience, algorithms: [alg], requiredClaims: ['exp'] }
  await coldGuard.authenticate(request(input.tokens[alg]))
  await jwtVerify(input.tokens[alg], keys, options)
  let a = 0
  let b = 0
  const variants = {
    scopeguard: async () => {
      const decision = await coldGuard.authenticate(requests[a++ % count])
      if (!decision.allowed) throw new Error(`cold token refused: ${decision.reason}`)
    },
    jose: async () => {
      await jwtVerify(tokens[b++ % count], keys, options)
    },
  }
  const measured = await alternate(variants, quick ? 12 : 24, quick ? 250 : 400)
  const stats = coldGuard.stats()
  cold.push({ alg, ...measured, verifications: stats.jwtVerifications, hits: stats.cacheHits })
  process.stderr.write(
    `  cold ${alg}: scopeguard ${measured.cpu.scopeguard.toFixed(1)} µs, jose ${measured.cpu.jose.toFixed(1)} µs CPU per token (×${measured.ratio.toFixed(3)})\n`,
  )
  await coldGuard.close()
}

/**
 * Runs the variants in alternating blocks of `perBlock` sequential calls (ABAB…, the order
 * flipped every block) and measures each block's process CPU time (all threads: webcrypto
 * verifies on the libuv pool) and wall time per call. CPU time is what another process on
 * this machine disturbs least. Returns medians per variant and the median paired ratio.
 */
async function alternate(variants, blocks, perBlock) {
  const names = Object.keys(variants)
  const cpu = Object.fromEntries(names.map((name) => [name, []]))
  const wall = Object.fromEntries(names.map((name) => [name, []]))
  for (const name of names) for (let i = 0; i < perBlock; i++) await variants[name]() // warm-up
  for (let block = 0; block < blocks; block++) {
    const order = block % 2 === 0 ? names : [...names].reverse()
    for (const name of order) {
      const fn = variants[name]
      const startCpu = process.cpuUsage()
      const startWall = performance.now()
      for (let i = 0; i < perBlock; i++) await fn()
      const used = process.cpuUsage(startCpu)
      cpu[name].push((used.user + used.system) / perBlock)
      wall[name].push(((performance.now() - startWall) * 1000) / perBlock)
    }
  }
  const [a, b] = names
  const ratios = cpu[a].map((value, i) => value / cpu[b][i])
  const wallRatios = wall[a].map((value, i) => value / wall[b][i])
  return {
    cpu: Object.fromEntries(names.map((name) => [name, median(cpu[name])])),
    wall: Object.fromEntries(names.map((name) => [name, median(wall[name])])),
    ratio: median(ratios),
    wallRatio: median(wallRatios),
    blocks,
    perBlock,
  }
}

await guard.close()
report({
  results,
  cold,
  policyLoad: policies.map(({ size, loadMs, compileMs }) => ({ size, loadMs, compileMs })),
})
