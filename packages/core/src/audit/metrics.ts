import { metrics as otel, type Attributes } from '@opentelemetry/api'
import type { Decision } from '../decision.js'
import type { DispatcherStats } from './dispatcher.js'

/** The guard's metrics recorder; a no-op object when metrics are off. */
export interface Metrics {
  /** Whether verification is timed (only when metrics are on). */
  readonly timed: boolean
  decision(decision: Decision, route: string | undefined): void
  verification(seconds: number, allowed: boolean): void
}

const MAX_ROUTES = 200
const OFF: Metrics = { timed: false, decision: () => undefined, verification: () => undefined }

/**
 * Creates the guard's OpenTelemetry metrics (meter `scopeguard`), a no-op until the app
 * installs an SDK with a meter provider: decisions by outcome, reason and route template,
 * violations by type, verification duration, and observable counters for cache hits and
 * misses, key fetches, events dropped and sink errors. Label values are bounded: reasons and
 * violation types are fixed sets, route templates come from the app's own routes and are
 * capped at 200 distinct values (then `other`); raw paths and client ids are never labels.
 *
 * @example
 * scopeguard({ issuer, audience, audit: { metrics: true } })
 */
export function createMetrics(
  enabled: boolean,
  guardStats: () => {
    jwtVerifications: number
    introspections: number
    cacheHits: number
    keyFetches: number
  },
  auditStats: () => DispatcherStats | undefined,
): Metrics {
  if (!enabled) return OFF
  const meter = otel.getMeter('scopeguard')
  const decisions = meter.createCounter('scopeguard.decisions', {
    description: 'Decisions by outcome, reason and route',
  })
  const violations = meter.createCounter('scopeguard.violations', {
    description: 'Policy violations by type',
  })
  const duration = meter.createHistogram('scopeguard.verification.duration', {
    unit: 's',
    description: 'Time to authenticate a request',
  })
  meter
    .createObservableCounter('scopeguard.token_cache.lookups', {
      description: 'Verified-token cache lookups by result',
    })
    .addCallback((result) => {
      const stats = guardStats()
      result.observe(stats.cacheHits, { result: 'hit' })
      result.observe(stats.jwtVerifications + stats.introspections, { result: 'miss' })
    })
  meter
    .createObservableCounter('scopeguard.jwks.fetches')
    .addCallback((result) => result.observe(guardStats().keyFetches))
  meter
    .createObservableCounter('scopeguard.events.dropped')
    .addCallback((result) => result.observe(auditStats()?.dropped ?? 0))
  meter
    .createObservableCounter('scopeguard.sink.errors')
    .addCallback((result) => result.observe(auditStats()?.sinkErrors ?? 0))

  const routes = new Set<string>()
  const routeLabel = (route: string | undefined): string => {
    if (route === undefined) return 'none'
    if (routes.has(route)) return route
    if (routes.size >= MAX_ROUTES) return 'other'
    routes.add(route)
    return route
  }
  return {
    timed: true,
    verification(seconds, allowed) {
      duration.record(seconds, { outcome: allowed ? 'allow' : 'deny' })
    },
    decision(decision, route) {
      const attributes: Attributes = {
        outcome: decision.allowed ? 'allow' : 'deny',
        reason: decision.reason,
        route: routeLabel(route),
      }
      decisions.add(1, attributes)
      for (const violation of decision.violations ?? [])
        violations.add(1, { type: violation.type, enforced: violation.enforced })
    },
  }
}
