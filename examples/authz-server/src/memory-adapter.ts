import type { Adapter, AdapterFactory, AdapterPayload } from 'oidc-provider'

interface Entry {
  payload: AdapterPayload
  /** Epoch milliseconds; Infinity when the model has no expiry. */
  expiresAt: number
}

const SWEEP_EVERY = 256

/** One server's storage: entries by `Model:id`, plus the secondary indexes oidc-provider uses. */
class Store {
  readonly entries = new Map<string, Entry>()
  readonly sessionsByUid = new Map<string, string>()
  readonly byUserCode = new Map<string, string>()
  readonly grantMembers = new Map<string, Set<string>>()
  #writes = 0

  get(key: string): AdapterPayload | undefined {
    const entry = this.entries.get(key)
    if (entry === undefined) return undefined
    if (entry.expiresAt <= Date.now()) {
      this.entries.delete(key)
      return undefined
    }
    return entry.payload
  }

  set(key: string, payload: AdapterPayload, expiresIn: number | undefined): void {
    const expiresAt = expiresIn === undefined ? Infinity : Date.now() + expiresIn * 1000
    this.entries.set(key, { payload, expiresAt })
    if (++this.#writes % SWEEP_EVERY === 0) this.#sweep()
  }

  #sweep(): void {
    const now = Date.now()
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key)
  }
}

class MemoryAdapter implements Adapter {
  readonly #model: string
  readonly #store: Store

  constructor(model: string, store: Store) {
    this.#model = model
    this.#store = store
  }

  #key(id: string): string {
    return `${this.#model}:${id}`
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const key = this.#key(id)
    this.#store.set(key, payload, expiresIn)
    if (this.#model === 'Session' && typeof payload.uid === 'string') {
      this.#store.sessionsByUid.set(payload.uid, id)
    }
    if (typeof payload.userCode === 'string') this.#store.byUserCode.set(payload.userCode, id)
    if (typeof payload.grantId === 'string' && this.#model !== 'Grant') {
      const members = this.#store.grantMembers.get(payload.grantId) ?? new Set<string>()
      members.add(key)
      this.#store.grantMembers.set(payload.grantId, members)
    }
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return this.#store.get(this.#key(id))
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    const id = this.#store.sessionsByUid.get(uid)
    return id === undefined ? undefined : this.find(id)
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    const id = this.#store.byUserCode.get(userCode)
    return id === undefined ? undefined : this.find(id)
  }

  async consume(id: string): Promise<void> {
    const payload = this.#store.get(this.#key(id))
    if (payload !== undefined) payload.consumed = Math.floor(Date.now() / 1000)
  }

  async destroy(id: string): Promise<void> {
    this.#store.entries.delete(this.#key(id))
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    for (const key of this.#store.grantMembers.get(grantId) ?? []) this.#store.entries.delete(key)
    this.#store.grantMembers.delete(grantId)
    this.#store.entries.delete(`Grant:${grantId}`)
  }
}

/**
 * oidc-provider storage that lives and dies with one server: tokens, codes, sessions and
 * grants in plain Maps, expired by their TTL, shared by nothing else (another server in the
 * same process, or a restart on the same port, starts empty). Unbounded but swept; for the
 * development server only, in place of the library's "quick start" adapter.
 *
 * @example
 * new Provider(issuer, { adapter: createMemoryAdapter() })
 */
export function createMemoryAdapter(): AdapterFactory {
  const store = new Store()
  return (model) => new MemoryAdapter(model, store)
}
