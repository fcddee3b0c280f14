import { LifecycleError, type Store, type StoreChange } from '@scopeguard/core'
import { redisStore } from '@scopeguard/redis'
import { requiredOption, stringOption, type OptionSpec, type ParsedArgs } from './command.js'
import { CliError, inputError, messageOf, usageError } from './errors.js'

/** Milliseconds to wait for Redis (connect and first resync, or one write) by default. */
export const DEFAULT_CONNECT_TIMEOUT = 3000

/** The options of every command that talks to the shared store. */
export const REDIS_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  redis: {
    type: 'string',
    value: 'url',
    description: 'the Redis the API instances share: redis://… or rediss://… (required)',
  },
  prefix: {
    type: 'string',
    value: 'prefix',
    description: 'the key prefix the instances use (default scopeguard:)',
  },
  'connect-timeout': {
    type: 'string',
    value: 'ms',
    description: `milliseconds to wait for Redis (default ${DEFAULT_CONNECT_TIMEOUT})`,
  },
}

/** Where the shared store is, as the command line names it. */
export interface RedisTarget {
  readonly url: string
  readonly prefix: string
  readonly timeout: number
}

/**
 * The Redis URL, prefix and wait of a command from `--redis`, `--prefix` and `--connect-timeout`.
 *
 * @example
 * redisTarget(args) // => { url: 'redis://127.0.0.1:6379', prefix: 'scopeguard:', timeout: 3000 }
 */
export function redisTarget(args: ParsedArgs): RedisTarget {
  const url = requiredOption(args, 'redis')
  if (!/^rediss?:\/\//.test(url))
    throw usageError(`--redis must be a redis:// or rediss:// URL, not ${JSON.stringify(url)}`)
  return {
    url,
    prefix: stringOption(args, 'prefix') ?? 'scopeguard:',
    timeout: positiveNumber(args, 'connect-timeout') ?? DEFAULT_CONNECT_TIMEOUT,
  }
}

/**
 * The value of a numeric option (a positive number), or undefined when it was not given.
 *
 * @example
 * positiveNumber(args, 'ttl') // => 900 for --ttl 900
 */
export function positiveNumber(args: ParsedArgs, name: string): number | undefined {
  const text = stringOption(args, name)
  if (text === undefined) return undefined
  const value = Number(text)
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0)
    throw usageError(`--${name} must be a positive number, not ${JSON.stringify(text)}`)
  return value
}

/**
 * A URL without its password, for messages and reports.
 *
 * @example
 * shownUrl('redis://:secret@10.0.3.7:6379') // => 'redis://:***@10.0.3.7:6379'
 */
export function shownUrl(url: string): string {
  return url.replace(/^(rediss?:\/\/[^:@/]*:)[^@/]*@/, '$1***@')
}

/**
 * Runs a core lifecycle helper (revocationChange, elevationChange, …); a refusal
 * (LifecycleError) becomes an input error: one line with its reason, exit 2.
 *
 * @example
 * const change = checked(() => revocationChange(request, Date.now(), 86_400))
 */
export function checked<T>(build: () => T): T {
  try {
    return build()
  } catch (error) {
    if (error instanceof LifecycleError) throw inputError(error.message, error)
    throw error
  }
}

/**
 * Opens core's Store on Redis with @scopeguard/redis, as every API instance does, runs `use`
 * once it has connected and loaded the shared state (a `resynced` status), and closes it.
 * Redis that cannot be reached within `timeout` ms is an input error (exit 2): the command
 * never hangs. The store never heartbeats, so a drill does not take the CLI for an instance.
 *
 * @example
 * await withStore(target, (store) => store.apply(change))
 */
export async function withStore<T>(
  target: RedisTarget,
  use: (store: Store) => Promise<T>,
): Promise<T> {
  let store: Store
  try {
    store = redisStore({
      url: target.url,
      prefix: target.prefix,
      name: 'scopeguard-cli',
      heartbeatInterval: 3_600_000,
      resyncInterval: 3_600_000,
    })
  } catch (error) {
    throw inputError(`cannot use Redis at ${shownUrl(target.url)}: ${messageOf(error)}`, error)
  }
  try {
    await within(
      new Promise<void>((resolve) => {
        store.onStatus?.((status) => {
          if (status.state === 'resynced') resolve()
        })
      }),
      target.timeout,
      `cannot reach Redis at ${shownUrl(target.url)} within ${target.timeout} ms ` +
        '(is it running, is the URL right?)',
    )
    return await within(
      use(store).catch((error: unknown) => {
        throw error instanceof CliError
          ? error
          : inputError(`Redis at ${shownUrl(target.url)}: ${messageOf(error)}`, error)
      }),
      target.timeout,
      `Redis at ${shownUrl(target.url)} did not answer within ${target.timeout} ms`,
    )
  } finally {
    // A store that never connected may not close promptly: the command does not wait for it.
    await Promise.race([
      store.close().catch(() => undefined),
      new Promise((resolve) => setTimeout(resolve, 500).unref()),
    ])
  }
}

/**
 * Applies one change to the shared store: written to Redis and published to every instance.
 *
 * @example
 * await applyChange(target, { op: 'unrevoke', kind: 'clientId', value: 'reader' })
 */
export async function applyToStore(target: RedisTarget, change: StoreChange): Promise<void> {
  await withStore(target, (store) => store.apply(change))
}

/**
 * `promise`, or an input error with `message` when it has not settled after `ms`.
 *
 * @example
 * await within(runDrill(options), 10_000, 'the drill did not finish')
 */
export async function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(inputError(message)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}
