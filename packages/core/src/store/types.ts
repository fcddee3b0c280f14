/** What a revocation names: one token (`jti`), a client (`client_id`) or a subject (`sub`). */
export type RevocationKind = 'jti' | 'clientId' | 'subject'

/** A revocation: tokens matching it get 401 `invalid_token` until `until`. */
export interface Revocation {
  readonly kind: RevocationKind
  readonly value: string
  readonly reason: string
  /** Epoch ms when it lapses by itself. */
  readonly until: number
  /** Epoch ms when it was made. */
  readonly at: number
}

/** The global kill switch: every token is refused, except those of the listed clients. */
export interface KillSwitch {
  readonly on: boolean
  readonly except: readonly string[]
  readonly reason: string
  readonly at: number
}

/** A just-in-time elevation: extra scopes for a client or subject until `expiresAt`. */
export interface ElevationGrant {
  readonly id: string
  readonly clientId: string | undefined
  readonly subject: string | undefined
  readonly scopes: readonly string[]
  readonly reason: string
  readonly approvedBy: string
  readonly createdAt: number
  readonly expiresAt: number
}

/** A change to the shared state, as stores apply and propagate it. */
export type StoreChange =
  | { readonly op: 'revoke'; readonly revocation: Revocation }
  | { readonly op: 'unrevoke'; readonly kind: RevocationKind; readonly value: string }
  | { readonly op: 'kill_switch'; readonly killSwitch: KillSwitch }
  | { readonly op: 'grant'; readonly grant: ElevationGrant }
  | { readonly op: 'ungrant'; readonly id: string; readonly expired: boolean }

/** The state a request is checked against, read synchronously on the request path. */
export interface StoreSnapshot {
  /** True when nothing is revoked, no grant exists and the kill switch is off: the fast path. */
  readonly empty: boolean
  /** Set by a store that cannot reach its backend and was told to fail closed. */
  readonly unavailable: boolean
  readonly killSwitch: KillSwitch | undefined
  readonly revocations: ReadonlyMap<string, Revocation>
  readonly grants: ReadonlyMap<string, ElevationGrant>
}

/**
 * Shared run-time state: revocations, the kill switch and elevation grants. Reads are
 * synchronous and local (`snapshot()`); writes (`apply`) go to the backend and reach every
 * instance sharing it. The in-memory store is the default; `@scopeguard/redis` shares state
 * across instances.
 */
export interface Store {
  snapshot(): StoreSnapshot
  apply(change: StoreChange): Promise<void>
  /** Calls `listener` for every change applied here or arriving from another instance. */
  subscribe(listener: (change: StoreChange, origin: 'local' | 'remote') => void): () => void
  /** Counts one use: a scope a client's token carried (`granted`), one it used, or a route it called. */
  countUsage?(clientId: string, kind: UsageKind, key: string): void
  /** Usage counts summed over every instance sharing the store. */
  usage?(): Promise<SharedUsage>
  /** Notes that a client was seen now (cheap; a shared store batches these). */
  touch?(clientId: string, at: number): void
  /** When each client was last seen, by any instance sharing the store (epoch ms). */
  lastSeen?(): Promise<ReadonlyMap<string, number>>
  /**
   * Records a one-time key (a DPoP proof `jti`, RFC 9449 §11.1) for `ttlMs` on every instance
   * sharing the store: true the first time, false while it is recorded (a replay). Throws (or
   * rejects) when it cannot record it (backend unreachable, cache full): the guard then
   * answers 503. Without it, the guard keeps proof `jti`s in this process only.
   */
  claimOnce?(key: string, ttlMs: number): boolean | Promise<boolean>
  /** For shared stores: reports when the backend becomes unreachable, reachable again, or resynced. */
  onStatus?(listener: (status: StoreStatus) => void): () => void
  close(): Promise<void>
}

/** The health of a shared store's backend, as its status events report it. */
export interface StoreStatus {
  readonly state: 'unavailable' | 'available' | 'resynced'
  /** What failed, for `unavailable`. */
  readonly error?: string
  /** For `unavailable`: whether requests are now refused (fail closed) or served with the last known state. */
  readonly failClosed?: boolean
}

/** The key of a revocation in a snapshot. */
export function revocationKey(kind: RevocationKind, value: string): string {
  return `${kind}:${value}`
}

/** What a usage count is of. */
export type UsageKind = 'granted' | 'used' | 'route'

/** Usage counts per client, summed over every instance: `granted`, `used` and `route` counts by key. */
export type SharedUsage = ReadonlyMap<
  string,
  Readonly<Record<UsageKind, Readonly<Record<string, number>>>>
>

/** Adds one count to a usage map (what both stores keep locally). */
export function addUsage(
  into: Map<string, Record<UsageKind, Record<string, number>>>,
  clientId: string,
  kind: UsageKind,
  key: string,
  count = 1,
): void {
  let client = into.get(clientId)
  if (client === undefined) into.set(clientId, (client = { granted: {}, used: {}, route: {} }))
  client[kind][key] = (client[kind][key] ?? 0) + count
}
