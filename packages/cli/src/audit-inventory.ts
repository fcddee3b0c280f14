/** The event types core's sinks write; a line of another type is not a scopeguard event. */
const EVENT_TYPES = new Set(['decision', 'violation', 'first_use', 'policy', 'lifecycle', 'store'])

/** A line of an audit log that was not used, and why. */
export interface SkippedLine {
  readonly file: string
  readonly line: number
  readonly reason: string
}

/** What the logs say about one client. */
export interface ClientInventory {
  readonly clientId: string
  /** The scopes of its tokens (elevated scopes left out): what it was granted. */
  readonly granted: readonly string[]
  /** The granted scopes an allowed decision's requirement named. */
  readonly used: readonly string[]
  /** Granted and never used: candidates for removal. */
  readonly unused: readonly string[]
  readonly decisions: number
  readonly allowed: number
  readonly denied: number
  /** ISO times of its first and last decision. */
  readonly firstSeen: string | undefined
  readonly lastSeen: string | undefined
  /** `METHOD /route` (the path without a route) with how many decisions, most called first. */
  readonly routes: readonly { readonly route: string; readonly count: number }[]
}

/** The inventory of a set of audit logs. */
export interface Inventory {
  readonly files: readonly string[]
  /** Events read (every type). */
  readonly events: number
  readonly decisions: number
  readonly clients: readonly ClientInventory[]
  readonly skipped: readonly SkippedLine[]
}

interface Tally {
  granted: Set<string>
  used: Set<string>
  decisions: number
  allowed: number
  first: number
  last: number
  routes: Map<string, number>
}

/**
 * Builds the per-client inventory of audit logs in the JSONL format of core's fileSink and
 * consoleSink (one event a line, `time` in epoch ms; raw events with an ISO `time` too).
 * Granted: the scopes of a client's tokens in its decisions. Used: for an allowed decision,
 * the token's scopes that appear as a word of its `required` expression (nothing without
 * one). A line that is not a JSON object or not a scopeguard event is skipped and listed.
 *
 * @example
 * buildInventory([{ name: 'audit.jsonl', text }]).clients[0]?.unused // => ['write:items']
 */
export function buildInventory(
  sources: readonly { readonly name: string; readonly text: string }[],
): Inventory {
  const tallies = new Map<string, Tally>()
  const skipped: SkippedLine[] = []
  let events = 0
  let decisions = 0
  for (const { name, text } of sources) {
    const lines = text.split('\n')
    lines.forEach((raw, index) => {
      const line = raw.trim()
      if (line === '') return
      const skip = (reason: string): void =>
        void skipped.push({ file: name, line: index + 1, reason })
      let value: unknown
      try {
        value = JSON.parse(line)
      } catch {
        return skip('not JSON')
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        return skip('not a JSON object')
      const event = value as Record<string, unknown>
      if (typeof event['type'] !== 'string' || !EVENT_TYPES.has(event['type']))
        return skip('not a scopeguard event')
      events++
      if (event['type'] !== 'decision') return
      decisions++
      const clientId = event['clientId']
      if (typeof clientId !== 'string' || clientId === '') return
      const tally = tallies.get(clientId) ?? {
        granted: new Set<string>(),
        used: new Set<string>(),
        decisions: 0,
        allowed: 0,
        first: Infinity,
        last: -Infinity,
        routes: new Map<string, number>(),
      }
      tallies.set(clientId, tally)
      const elevated = new Set(strings(event['elevated']))
      const scopes = strings(event['scopes']).filter((scope) => !elevated.has(scope))
      for (const scope of scopes) tally.granted.add(scope)
      tally.decisions++
      if (event['allowed'] === true) {
        tally.allowed++
        const required = event['required']
        if (typeof required === 'string') {
          const words = new Set(required.split(/[\s(),]+/))
          for (const scope of scopes) if (words.has(scope)) tally.used.add(scope)
        }
      }
      const time = timeOf(event['time'])
      if (time !== undefined) {
        tally.first = Math.min(tally.first, time)
        tally.last = Math.max(tally.last, time)
      }
      const method = typeof event['method'] === 'string' ? event['method'] : '?'
      // The route template; the path when the decision has none (no policy rule matched).
      const route =
        typeof event['route'] === 'string'
          ? event['route']
          : typeof event['path'] === 'string'
            ? event['path']
            : undefined
      if (route !== undefined) {
        const key = `${method} ${route}`
        tally.routes.set(key, (tally.routes.get(key) ?? 0) + 1)
      }
    })
  }
  const clients = [...tallies]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([clientId, tally]): ClientInventory => {
      const granted = [...tally.granted].sort()
      return {
        clientId,
        granted,
        used: [...tally.used].sort(),
        unused: granted.filter((scope) => !tally.used.has(scope)),
        decisions: tally.decisions,
        allowed: tally.allowed,
        denied: tally.decisions - tally.allowed,
        firstSeen: Number.isFinite(tally.first) ? new Date(tally.first).toISOString() : undefined,
        lastSeen: Number.isFinite(tally.last) ? new Date(tally.last).toISOString() : undefined,
        routes: [...tally.routes]
          .map(([route, count]) => ({ route, count }))
          .sort((a, b) => b.count - a.count || (a.route < b.route ? -1 : 1)),
      }
    })
  return { files: sources.map((source) => source.name), events, decisions, clients, skipped }
}

function strings(value: unknown): string[] {
  return Array.isArray(value)
    ? value.filter((item): item is string => typeof item === 'string')
    : []
}

/** Epoch ms from a log line's `time` (epoch ms) or a raw event's (ISO). */
function timeOf(value: unknown): number | undefined {
  const time =
    typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : NaN
  return Number.isFinite(time) ? time : undefined
}
