/* global gc */
// Memory under token churn: core's createGuard driven in-process with a static ES256 key,
// 1,000,000 requests carrying 100,000 distinct pre-signed tokens (each used 10 times within
// a window of 100 tokens). The heap is sampled after a full GC every tenth of the run: once
// the verified-token cache is full, it must stay flat whatever the number of distinct tokens.
// Run with --expose-gc (the runner forks it so).
import { createGuard, compileRequirement } from '@scopeguard/core'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from 'jose'
import { report } from './lib/child.mjs'

const { quick } = JSON.parse(process.argv[2] ?? '{}')
const REQUESTS = quick ? 200_000 : 1_000_000
const TOKENS = quick ? 20_000 : 100_000
const MAX_ENTRIES = 10_000 // the guard's default cache bound, set explicitly
const WINDOW = 100 // tokens in use at once; each is used REQUESTS / TOKENS times in its window
const CLIENTS = 50
const issuer = 'https://issuer.bench.test'
const audience = 'https://items-api.scopeguard.test'

const heap = () => {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

const started = performance.now()
const { privateKey, publicKey } = await generateKeyPair('ES256')
const jwk = await exportJWK(publicKey)
const kid = await calculateJwkThumbprint(jwk)
const now = Math.floor(Date.now() / 1000)
const tokens = []
for (let i = 0; i < TOKENS; i += 256) {
  const batch = []
  for (let j = i; j < Math.min(TOKENS, i + 256); j++) {
    batch.push(
      new SignJWT({
        scope: 'read:items',
        client_id: `client-${j % CLIENTS}`,
        sub: `user-${j}`,
        jti: `token-${j}`,
      })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
        .setIssuer(issuer)
        .setAudience(audience)
        .setIssuedAt(now)
        .setExpirationTime(now + 3600)
        .sign(privateKey),
    )
  }
  tokens.push(...(await Promise.all(batch)))
}
const signedIn = (performance.now() - started) / 1000

const baseline = heap() // the tokens themselves are in this figure, the guard is not
const guard = createGuard({
  issuer,
  audience,
  keys: { keys: [{ ...jwk, kid, alg: 'ES256', use: 'sig' }] },
  cache: { maxEntries: MAX_ENTRIES },
})
const readItems = compileRequirement('read:items')
const samples = []
const runStarted = performance.now()
const perBlock = WINDOW * (REQUESTS / TOKENS)
for (let k = 0; k < REQUESTS; k++) {
  const block = Math.floor(k / perBlock)
  const token = tokens[(block * WINDOW + (k % WINDOW)) % TOKENS]
  const decision = await guard.authenticate({
    method: 'GET',
    path: '/items',
    headers: { authorization: `Bearer ${token}` },
  })
  if (!decision.allowed) throw new Error(`token refused: ${decision.reason}`)
  guard.authorize(decision.auth, readItems, { method: 'GET', path: '/items', route: '/items' })
  if ((k + 1) % (REQUESTS / 10) === 0) {
    const stats = guard.stats()
    samples.push({
      requests: k + 1,
      distinctTokens: Math.min(TOKENS, (block + 1) * WINDOW),
      heapUsed: heap(),
      verifications: stats.jwtVerifications,
      cacheHits: stats.cacheHits,
    })
    process.stderr.write(
      `  memory: ${k + 1} requests, heap ${((samples.at(-1).heapUsed - baseline) / 2 ** 20).toFixed(1)} MiB above baseline\n`,
    )
  }
}
const seconds = (performance.now() - runStarted) / 1000
const growth = samples.map((sample) => sample.heapUsed - baseline)
await guard.close()
report({
  requests: REQUESTS,
  tokens: TOKENS,
  window: WINDOW,
  clients: CLIENTS,
  maxEntries: MAX_ENTRIES,
  baseline,
  samples,
  growth,
  signSeconds: signedIn,
  runSeconds: seconds,
  heapLimit: process.memoryUsage().heapTotal,
})
