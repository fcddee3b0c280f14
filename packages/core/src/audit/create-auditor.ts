import type { AuthInfo } from '../auth-info.js'
import { ScopeguardConfigError } from '../errors.js'
import type { Decision } from '../decision.js'
import type { DecisionEvent, FirstUseEvent, ScopeguardEvent, ViolationEvent } from '../events.js'
import { recordDecision, type DecisionContext } from '../record-decision.js'
import {
  createDispatcher,
  type Dispatcher,
  type DispatcherOptions,
  type DispatcherStats,
} from './dispatcher.js'
import { createInventory, NO_SCOPES, type Inventory, type InventoryLimits } from './inventory.js'
import type { Sink } from './sink.js'

/** What is recorded, and how (the `audit` option). */
export interface AuditOptions extends DispatcherOptions {
  /**
   * Allowed decisions without violations: `all` (default), `none`, or a sampling rate in
   * (0, 1]. Denials and violations are always recorded.
   */
  readonly allow?: 'all' | 'none' | number
  /** Event fields removed before anything sees the event (e.g. `['subject', 'path']`). */
  readonly redact?: readonly string[]
  /** Bounds of the usage inventory; `false` switches it off. */
  readonly inventory?: false | InventoryLimits
  /** Seconds after start during which first uses are learned silently. Default 86,400 (a day). */
  readonly learningPeriod?: number
  /** OpenTelemetry metrics through `@opentelemetry/api` (a no-op until an SDK is installed). Default false. */
  readonly metrics?: boolean
}

/** The auditing side of a guard. */
export interface Auditor {
  /** Whether anyone listens: without listeners, no record is built at all. */
  readonly recording: boolean
  /** Records a decision: events for listeners and sinks, inventory, first use. */
  decision(
    decision: Decision,
    context: DecisionContext,
    policyVersion: string | undefined,
    used: readonly string[],
  ): void
  /** Records a non-decision event (policy, lifecycle). */
  emit(event: ScopeguardEvent): void
  inventory(): Inventory | undefined
  flush(): Promise<void>
  close(deadlineMs?: number): Promise<void>
  stats(): DispatcherStats | undefined
}

/**
 * Creates the auditor from the guard options. Listeners (`onEvent`) get events at once;
 * sinks get them through the bounded, batched dispatcher, off the request path. The usage
 * inventory counts verified tokens only. With no listener, no sink and no inventory, every
 * call is a no-op and no event object is built.
 */
export function createAuditor(
  options: {
    onEvent?: (event: ScopeguardEvent) => void
    sinks?: readonly Sink[]
    audit?: AuditOptions
  },
  clock: () => number,
  onListenerError: (error: unknown) => void,
  onCount?: (clientId: string, kind: 'granted' | 'used' | 'route', key: string) => void,
): Auditor {
  const audit = options.audit ?? {}
  checkAuditOptions(options.sinks, audit)
  const listener = options.onEvent
  const dispatcher: Dispatcher | undefined =
    options.sinks !== undefined && options.sinks.length > 0
      ? createDispatcher(options.sinks, audit)
      : undefined
  const inventory =
    audit.inventory === false ? undefined : createInventory(clock, audit.inventory, onCount)
  // Verified tokens whose granted scopes are counted already (by their claims object, which
  // elevated copies of an AuthInfo share): granted scopes count once per verified token.
  const granted = new WeakSet<object>()
  const learnedUntil = clock() + (audit.learningPeriod ?? 86_400) * 1000
  const recording = listener !== undefined || dispatcher !== undefined
  const redact = audit.redact ?? []
  const allow = audit.allow ?? 'all'
  const sampled = (): boolean =>
    allow === 'all' || (typeof allow === 'number' && Math.random() < allow)

  const emit = (event: ScopeguardEvent): void => {
    const out =
      redact.length === 0
        ? event
        : (Object.fromEntries(
            Object.entries(event).filter(([key]) => !redact.includes(key)),
          ) as ScopeguardEvent)
    if (listener !== undefined) {
      try {
        listener(out)
      } catch (error) {
        onListenerError(error)
      }
    }
    dispatcher?.enqueue(out)
  }

  const decision = (
    decided: Decision,
    context: DecisionContext,
    policyVersion: string | undefined,
    used: readonly string[],
  ): void => {
    const auth = decided.auth
    const newScopes =
      inventory !== undefined && auth?.clientId !== undefined
        ? observe(inventory, granted, decided, auth, used, context)
        : NO_SCOPES
    if (!recording) return
    const quiet =
      decided.allowed && (decided.violations === undefined || decided.violations.length === 0)
    if (quiet && !sampled() && newScopes.length === 0) return
    const record = recordDecision(decided, context, policyVersion)
    emit(record)
    for (const violation of record.violations) emit(violationEvent(record, violation))
    if (!decided.allowed && decided.reason === 'token_invalid') {
      emit(
        violationEvent(record, {
          type: 'invalid_token',
          mode: 'enforce',
          enforced: true,
          expected: 'a valid access token',
          seen: decided.rejection ?? 'malformed',
        }),
      )
    }
    if (clock() >= learnedUntil && auth?.clientId !== undefined) {
      for (const scope of newScopes) {
        const event: FirstUseEvent = {
          type: 'first_use',
          v: 1,
          time: record.time,
          clientId: auth.clientId,
          scope,
          route: record.route,
          decisionId: record.decisionId,
        }
        emit(event)
      }
    }
  }

  return {
    recording,
    decision,
    emit: (event) => {
      if (recording) emit(event)
    },
    inventory: () => inventory,
    flush: () => dispatcher?.flush() ?? Promise.resolve(),
    close: (deadlineMs) => dispatcher?.close(deadlineMs) ?? Promise.resolve(),
    stats: () => dispatcher?.stats(),
  }
}

/** Counts a decision in the inventory; returns the scopes the client used for the first time. */
function observe(
  inventory: Inventory,
  granted: WeakSet<object>,
  decided: Decision,
  auth: AuthInfo,
  used: readonly string[],
  context: DecisionContext,
): readonly string[] {
  const clientId = auth.clientId as string
  if (!granted.has(auth.claims)) {
    granted.add(auth.claims)
    const elevated = auth.elevation?.scopes
    inventory.observeGrant(
      clientId,
      elevated === undefined
        ? auth.scopes
        : [...auth.scopes].filter((scope) => !elevated.includes(scope)),
    )
  }
  if (!decided.allowed || used.length === 0) return NO_SCOPES
  return inventory.observeUse(
    clientId,
    used,
    context.route === undefined ? undefined : routeKey(context.method, context.route),
  )
}

/** `METHOD template`, built once per route (a fresh string per request would be hashed anew). */
function routeKey(method: string, route: string): string {
  let byMethod = routeKeys.get(route)
  if (byMethod === undefined) {
    byMethod = new Map()
    if (routeKeys.size < 4096) routeKeys.set(route, byMethod)
  }
  let key = byMethod.get(method)
  if (key === undefined) {
    key = `${method} ${route}`
    if (byMethod.size < 64) byMethod.set(method, key)
  }
  return key
}
const routeKeys = new Map<string, Map<string, string>>()

function violationEvent(
  record: DecisionEvent,
  violation: ViolationEvent['violation'],
): ViolationEvent {
  return {
    type: 'violation',
    v: 1,
    decisionId: record.decisionId,
    time: record.time,
    violation,
    method: record.method,
    path: record.path,
    route: record.route,
    policyVersion: record.policyVersion,
    clientId: record.clientId,
    subject: record.subject,
    tokenId: record.tokenId,
  }
}

function checkAuditOptions(sinks: readonly Sink[] | undefined, audit: AuditOptions): void {
  const fail = (message: string): never => {
    throw new ScopeguardConfigError(message)
  }
  if (
    sinks !== undefined &&
    (!Array.isArray(sinks) || sinks.some((sink) => typeof sink?.write !== 'function'))
  ) {
    fail('sinks must be a list of sinks, each with a write(events) function')
  }
  const { allow, redact, learningPeriod } = audit
  if (
    allow !== undefined &&
    allow !== 'all' &&
    allow !== 'none' &&
    !(typeof allow === 'number' && allow > 0 && allow <= 1)
  ) {
    fail("audit.allow must be 'all', 'none' or a sampling rate in (0, 1]")
  }
  if (
    redact !== undefined &&
    (!Array.isArray(redact) || redact.some((field) => typeof field !== 'string'))
  ) {
    fail('audit.redact must be a list of event field names')
  }
  if (
    learningPeriod !== undefined &&
    !(typeof learningPeriod === 'number' && learningPeriod >= 0)
  ) {
    fail('audit.learningPeriod must be a number of seconds ≥ 0')
  }
  for (const name of ['bufferSize', 'batchSize', 'flushInterval', 'sinkTimeout'] as const) {
    const value = audit[name]
    if (
      value !== undefined &&
      !(typeof value === 'number' && Number.isInteger(value) && value >= 1)
    ) {
      fail(`audit.${name} must be a whole number ≥ 1`)
    }
  }
}
