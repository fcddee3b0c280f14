// Turns raw measurements into medians, ratios and the verdict on each target.
import { median, range } from './stats.mjs'

const US = 1000 // nanoseconds per microsecond

/** Medians and ratios per HTTP group, micro and memory summaries, and the targets. */
export function analyze(results) {
  const http = results.http === undefined ? undefined : analyzeHttp(results.http)
  const memory = results.memory === undefined ? undefined : analyzeMemory(results.memory)
  return { http, memory, targets: targets(http, results.micro, memory) }
}

function analyzeHttp({ plan, rounds, paired, labels, servers }) {
  return plan.map((group) => {
    const at = (round, id) => round[group.id][id]
    const rows = group.configs.map((id) => {
      const series = rounds.map((round) => at(round, id))
      // Each run is compared with the baseline runs right before and after it.
      const ratios = series.map((s) => s.rps / s.baselineRps)
      const cpuRatios = series.map((s) => s.baselineCpu / s.serverCpuPerRequest)
      const peers = group.configs.filter((other) => labels[other].peer)
      const vsPeers = labels[id].scopeguard
        ? Object.fromEntries(
            peers.map((peer) => [
              peer,
              median(
                series.map((s, i) => {
                  const other = at(rounds[i], peer)
                  return s.rps / s.baselineRps / (other.rps / other.baselineRps)
                }),
              ),
            ]),
          )
        : {}
      // Side by side (each configuration at once with the baseline): ratios within each pair.
      const pairs = paired?.[group.id]?.[id] ?? []
      const pairedCpuRatios = pairs.map((p) => p.baselineCpu / p.cpu)
      const serverKey = labels[id].perAlg ? `${id}:${group.alg}` : id
      return {
        id,
        label: labels[id].label,
        scopeguard: labels[id].scopeguard === true,
        peer: labels[id].peer === true,
        baseline: id === group.baseline,
        rps: median(series.map((s) => s.rps)),
        rpsRange: range(series.map((s) => s.rps)),
        ratio: median(ratios),
        ratioRange: range(ratios),
        cpuPerRequest: median(series.map((s) => s.serverCpuPerRequest)),
        cpuRatio: median(cpuRatios),
        pairedCpuRatio: pairs.length === 0 ? NaN : median(pairedCpuRatios),
        pairedCpuRange: pairs.length === 0 ? undefined : range(pairedCpuRatios),
        pairedCpuPerRequest: pairs.length === 0 ? NaN : median(pairs.map((p) => p.cpu)),
        latencyP50: median(series.map((s) => s.latencyP50)),
        latencyP99: median(series.map((s) => s.latencyP99)),
        vsPeers,
        server: servers[serverKey],
      }
    })
    return { ...group, rows }
  })
}

/**
 * The heap when the cache filled, once every entry in it had been evicted once, and at the
 * end. The bound holds when the end is within 5% of the second: during the first turnover the
 * heap steps up about 1 MiB, as the hash tables of the token cache and of two weak maps keyed
 * by verified tokens double once after the cache fills (heap snapshots), then stays flat.
 */
function analyzeMemory(memory) {
  const full = memory.samples.find((sample) => sample.distinctTokens >= memory.maxEntries)
  const turned =
    memory.samples.find((sample) => sample.distinctTokens >= 2 * memory.maxEntries) ?? full
  const last = memory.samples.at(-1)
  const atFull = full === undefined ? NaN : full.heapUsed - memory.baseline
  const atTurned = turned === undefined ? NaN : turned.heapUsed - memory.baseline
  const atEnd = last.heapUsed - memory.baseline
  return {
    atFull,
    atTurned,
    atEnd,
    perEntry: atFull / memory.maxEntries,
    drift: (atEnd - atTurned) / atTurned,
    fullAt: full?.requests,
    turnedAt: turned?.requests,
  }
}

const times = (value) => `${value.toFixed(2)}×`
const micros = (ns) => `${(ns / US).toFixed(2)} µs`

function targets(http, micro, memory) {
  const list = []
  const add = (name, met, figure) => list.push({ name, met, figure })
  const row = (group, id) => group.rows.find((r) => r.id === id)
  const spread = (r) => `rounds ${r.ratioRange[0].toFixed(2)}–${r.ratioRange[1].toFixed(2)}`
  // The CPU ratio measured side by side with the baseline, where the run has one.
  const side = (r) =>
    Number.isFinite(r.pairedCpuRatio) ? `; side by side by CPU ${times(r.pairedCpuRatio)}` : ''

  for (const group of http ?? []) {
    if (group.cold) {
      const sg = row(group, 'express-sg-cold')
      if (sg !== undefined) {
        add(
          `HTTP cold path (${group.alg}): scopeguard within 10% of bare jose (≥ 0.90×)`,
          sg.ratio >= 0.9,
          `${times(sg.ratio)} bare jose's req/s (${spread(sg)}; by server CPU per request ${times(sg.cpuRatio)})`,
        )
      }
      continue
    }
    const sg = row(group, `${group.framework}-sg`)
    const p1000 = row(group, `${group.framework}-sg-p1000`)
    if (group.framework === 'express') {
      if (sg !== undefined) {
        add(
          `Express hot path (${group.alg}): scopeguard + requireScopes ≥ 0.90× no auth`,
          sg.ratio >= 0.9,
          `${times(sg.ratio)} (${spread(sg)}; by server CPU ${times(sg.cpuRatio)}${side(sg)}); ${Math.round(sg.rps)} vs ${Math.round(row(group, group.baseline).rps)} req/s`,
        )
        const bearer = sg.vsPeers['express-bearer']
        if (bearer !== undefined) {
          add(
            `Express hot path (${group.alg}): scopeguard ≥ 1.7× express-oauth2-jwt-bearer`,
            bearer >= 1.7,
            `${bearer.toFixed(3)}× (${Math.round(sg.rps)} vs ${Math.round(row(group, 'express-bearer').rps)} req/s` +
              (Number.isFinite(sg.pairedCpuRatio)
                ? `; side by side by CPU ${times(sg.pairedCpuRatio / row(group, 'express-bearer').pairedCpuRatio)})`
                : ')'),
          )
        }
      }
      if (p1000 !== undefined) {
        add(
          `Express (${group.alg}): policy of 1,000 routes + baselines + contract + writing sink ≥ 0.85× no auth`,
          p1000.ratio >= 0.85,
          `${times(p1000.ratio)} (${spread(p1000)}; by server CPU ${times(p1000.cpuRatio)}${side(p1000)})`,
        )
      }
    } else {
      if (sg !== undefined) {
        add(
          `Koa (${group.alg}): scopeguard + requireScopes ≥ 0.85× no auth`,
          sg.ratio >= 0.85,
          `${times(sg.ratio)} (${spread(sg)}; by server CPU ${times(sg.cpuRatio)}${side(sg)})`,
        )
      }
      if (p1000 !== undefined) {
        add(
          `Koa (${group.alg}): policy of 1,000 routes + baselines + contract + writing sink ≥ 0.85× no auth`,
          p1000.ratio >= 0.85,
          `${times(p1000.ratio)} (${spread(p1000)}; by server CPU ${times(p1000.cpuRatio)}${side(p1000)})`,
        )
      }
    }
  }

  if (micro !== undefined) {
    for (const cold of micro.cold) {
      add(
        `Cold path (${cold.alg}, in-process): scopeguard within 10% of bare jose jwtVerify (≤ 1.10× CPU per token)`,
        cold.ratio <= 1.1,
        `${times(cold.ratio)} (${cold.cpu.scopeguard.toFixed(1)} vs ${cold.cpu.jose.toFixed(1)} µs CPU per token; wall ${times(cold.wallRatio)})`,
      )
    }
    const find = (prefix, rules) =>
      micro.results.find((r) => r.name.startsWith(prefix) && r.rules === rules)
    const decide = find('decideRoute', 10_000)
    if (decide !== undefined) {
      add(
        'decide() (core decideRoute) for a 10,000-rule policy < 2 µs median',
        decide.p50 < 2 * US,
        micros(decide.p50),
      )
    }
    const judge = find('guard.judgeRoute', 10_000)
    if (judge !== undefined) {
      add(
        'Full decision (guard.judgeRoute: rule, usage inventory, recording) for 10,000 rules < 2 µs median',
        judge.p50 < 2 * US,
        micros(judge.p50),
      )
    }
    const small = find('findRule', 10)
    const large = find('findRule', 10_000)
    const scanSmall = find('linear scan', 10)
    const scanLarge = find('linear scan', 10_000)
    if (small !== undefined && large !== undefined) {
      const growth = large.p50 / small.p50
      add(
        'Route matching does not grow linearly with rules (1,000× more rules: < 10× slower)',
        growth < 10,
        `findRule ${micros(small.p50)} → ${micros(large.p50)} (${times(growth)})` +
          (scanSmall && scanLarge
            ? `; a linear scan: ${micros(scanSmall.p50)} → ${micros(scanLarge.p50)} (${times(scanLarge.p50 / scanSmall.p50)})`
            : ''),
      )
    }
  }
  if (memory !== undefined) {
    add(
      'Memory: heap stays within the cache bound under token churn (flat once the cache has turned over, ±5%)',
      Math.abs(memory.drift) <= 0.05,
      `${(memory.atEnd / 2 ** 20).toFixed(1)} MiB above baseline at the end, ${(memory.atTurned / 2 ** 20).toFixed(1)} MiB once the cache had turned over (${(memory.drift * 100).toFixed(1)}%), ${(memory.atFull / 2 ** 20).toFixed(1)} MiB when it filled; ≈ ${(memory.perEntry / 1024).toFixed(2)} KiB per cached token`,
    )
  }
  return list
}
