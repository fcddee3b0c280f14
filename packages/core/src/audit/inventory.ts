/** Use of one scope (or route) by one client. */
export interface UsageCount {
  count: number
  /** ISO 8601 times. */
  firstSeen: string
  lastSeen: string
}

/** What one client's verified tokens carried and what its allowed requests needed. */
export interface ClientUsage {
  readonly clientId: string
  /** Scopes its verified tokens carried. */
  readonly granted: Readonly<Record<string, UsageCount>>
  /** Scopes its allowed requests needed (the requirement alternative they satisfied). */
  readonly used: Readonly<Record<string, UsageCount>>
  /** Allowed requests by route template. */
  readonly routes: Readonly<Record<string, UsageCount>>
  /** Granted but never used during the observed window: candidates for removal. */
  readonly unused: readonly string[]
}

/** A snapshot of the usage inventory. */
export interface UsageReport {
  /** ISO 8601 start of the observed window. */
  readonly since: string
  readonly clients: readonly ClientUsage[]
  /** Observations not recorded because a bound was reached (clients, scopes or routes). */
  readonly overflow: number
  /** Clients reported dormant (not seen for `dormantAfter`), when that option is set. */
  readonly dormant?: readonly string[]
}

/** Bounds of the inventory: memory stays bounded whatever clients and scopes arrive. */
export interface InventoryLimits {
  readonly maxClients?: number
  readonly maxScopesPerClient?: number
  readonly maxRoutesPerClient?: number
}

/** A count as kept on the request path: times as epoch ms, turned into ISO 8601 in reports. */
interface Count {
  count: number
  firstSeen: number
  lastSeen: number
}

interface ClientState {
  granted: Map<string, Count>
  used: Map<string, Count>
  routes: Map<string, Count>
}

/**
 * Creates the usage inventory: per client, granted scopes (carried by verified tokens), used
 * scopes (needed by allowed requests) and routes, with counts and first/last seen. Only
 * verified tokens are observed, and every map is capped (overflow counted), so an attacker
 * cannot grow it. `observeUse` answers whether the scope is new for the client, which drives
 * first-use alerts.
 *
 * @example
 * const inventory = createInventory(Date.now)
 * inventory.observeUse('billing-svc', ['read:items'], 'GET /items')
 * inventory.report().clients[0]?.unused
 */
export function createInventory(
  clock: () => number,
  limits: InventoryLimits = {},
  onCount?: (clientId: string, kind: 'granted' | 'used' | 'route', key: string) => void,
) {
  const maxClients = limits.maxClients ?? 10_000
  const maxScopes = limits.maxScopesPerClient ?? 256
  const maxRoutes = limits.maxRoutesPerClient ?? 512
  const clients = new Map<string, ClientState>()
  let since = clock()
  let overflow = 0

  const client = (clientId: string): ClientState | undefined => {
    let state = clients.get(clientId)
    if (state === undefined) {
      if (clients.size >= maxClients) {
        overflow++
        return undefined
      }
      state = { granted: new Map(), used: new Map(), routes: new Map() }
      clients.set(clientId, state)
    }
    return state
  }

  /** Counts one observation; true when the key was new. */
  const count = (map: Map<string, Count>, key: string, bound: number, now: number): boolean => {
    const found = map.get(key)
    if (found !== undefined) {
      found.count++
      found.lastSeen = now
      return false
    }
    if (map.size >= bound) {
      overflow++
      return false
    }
    map.set(key, { count: 1, firstSeen: now, lastSeen: now })
    return true
  }

  return {
    /** Records the scopes a verified token of the client carried. */
    observeGrant(clientId: string, scopes: Iterable<string>): void {
      const state = client(clientId)
      if (state === undefined) return
      const now = clock()
      for (const scope of scopes) {
        count(state.granted, scope, maxScopes, now)
        onCount?.(clientId, 'granted', scope)
      }
    },
    /** Records an allowed request; returns the scopes the client used for the first time. */
    observeUse(
      clientId: string,
      scopes: readonly string[],
      route: string | undefined,
    ): readonly string[] {
      const state = client(clientId)
      if (state === undefined) return NO_SCOPES
      const now = clock()
      if (route !== undefined) {
        count(state.routes, route, maxRoutes, now)
        onCount?.(clientId, 'route', route)
      }
      for (const scope of scopes) onCount?.(clientId, 'used', scope)
      // Every scope is counted; a list is built only when one is new (this runs per request).
      let fresh: string[] | undefined
      for (const scope of scopes) {
        if (count(state.used, scope, maxScopes, now)) (fresh ??= []).push(scope)
      }
      return fresh ?? NO_SCOPES
    },
    /** The inventory now, with each client's granted-but-unused scopes. */
    report(): UsageReport {
      const plain = (map: Map<string, Count>): Record<string, UsageCount> =>
        Object.fromEntries(
          [...map].map(([key, { count, firstSeen, lastSeen }]) => [
            key,
            {
              count,
              firstSeen: new Date(firstSeen).toISOString(),
              lastSeen: new Date(lastSeen).toISOString(),
            },
          ]),
        )
      return {
        since: new Date(since).toISOString(),
        overflow,
        clients: [...clients].map(([clientId, state]) => ({
          clientId,
          granted: plain(state.granted),
          used: plain(state.used),
          routes: plain(state.routes),
          unused: [...state.granted.keys()].filter((scope) => !state.used.has(scope)).sort(),
        })),
      }
    },
    /** Forgets everything and starts a new window. */
    reset(): void {
      clients.clear()
      overflow = 0
      since = clock()
    },
  }
}

/** The empty scope list the inventory answers with: one frozen array, not one per request. */
export const NO_SCOPES: readonly string[] = Object.freeze([])

/** The inventory type returned by {@link createInventory}. */
export type Inventory = ReturnType<typeof createInventory>
