import { readFileSync, watch, watchFile, unwatchFile, type FSWatcher } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { basename, dirname, resolve } from 'node:path'
import createDebug from 'debug'
import { ScopeguardConfigError } from '../errors.js'
import type { PolicyEvent } from '../events.js'
import { compilePolicy } from './compile-policy.js'
import { diffPolicies } from './diff-policy.js'
import { loadPolicyDocument } from './load-policy.js'
import {
  PolicyValidationError,
  type CompiledPolicy,
  type PolicyDocument,
  type PolicyProblem,
} from './types.js'

const debug = createDebug('scopeguard:policy')

/** How a guard gets its policy: a file path, a document object, or a file with watch options. */
export type PolicyOption =
  | string
  | PolicyDocument
  | {
      readonly file: string
      /** Reload when the file changes (fs.watch plus polling). Default true. */
      readonly watch?: boolean
      /** Milliseconds between polls of the file, the fallback where fs.watch misses changes. Default 1000. */
      readonly pollInterval?: number
    }

/** The outcome of a reload. */
export type ReloadResult =
  | { readonly status: 'unchanged'; readonly version: string }
  | { readonly status: 'changed'; readonly version: string; readonly previousVersion: string }
  | { readonly status: 'rejected'; readonly version: string; readonly error: Error }

/** The current compiled policy of a guard, swapped atomically on reload. */
export interface PolicySource {
  current(): CompiledPolicy
  reload(): Promise<ReloadResult>
  close(): void
}

/**
 * Loads the policy at start-up (synchronously: a policy that does not validate throws a
 * {@link PolicyValidationError} listing every problem, and the app does not start) and,
 * for a file, watches it: editor saves, atomic renames and Kubernetes ConfigMap symlink
 * swaps are seen through a watch on the directory, with polling as the fallback. A new
 * version is validated and compiled before it replaces the old one in a single assignment;
 * an invalid one is rejected with a `policy` event and the old policy keeps serving.
 *
 * @example
 * const source = createPolicySource('./scopeguard.policy.yaml', (event) => console.log(event))
 * source.current().version // => 'sha256:…'
 */
export function createPolicySource(
  option: PolicyOption,
  emit: (event: PolicyEvent) => void,
): PolicySource {
  if (typeof option === 'object' && option !== null && !('file' in option)) {
    const text = JSON.stringify(option, null, 2)
    const policy = compilePolicy(loadPolicyDocument(text, { format: 'json' }), text)
    emit({
      type: 'policy',
      v: 1,
      action: 'loaded',
      time: new Date().toISOString(),
      version: policy.version,
      file: undefined,
    })
    return {
      current: () => policy,
      reload: () => Promise.resolve({ status: 'unchanged', version: policy.version }),
      close: () => undefined,
    }
  }
  const settings = typeof option === 'string' ? { file: option } : option
  if (typeof settings?.file !== 'string' || settings.file === '') {
    throw new ScopeguardConfigError(
      'policy must be a file path, a policy document object, or { file, watch?, pollInterval? }',
    )
  }
  const file = resolve(settings.file)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (cause) {
    throw new ScopeguardConfigError(`cannot read the policy file ${file}`, { cause })
  }
  let policy = compilePolicy(loadPolicyDocument(text, { file }), text, file)
  emit({
    type: 'policy',
    v: 1,
    action: 'loaded',
    time: new Date().toISOString(),
    version: policy.version,
    file,
  })

  let inflight: Promise<ReloadResult> | undefined
  let again = false
  const load = async (): Promise<ReloadResult> => {
    let next: CompiledPolicy
    try {
      const source = await readFile(file, 'utf8')
      if (source === text) return { status: 'unchanged', version: policy.version }
      next = compilePolicy(loadPolicyDocument(source, { file }), source, file)
      text = source
    } catch (error) {
      const problems: readonly PolicyProblem[] =
        error instanceof PolicyValidationError ? error.problems : []
      const message = error instanceof Error ? error.message : String(error)
      debug('policy reload rejected, %s keeps serving: %s', policy.version, message)
      emit({
        type: 'policy',
        v: 1,
        action: 'rejected',
        time: new Date().toISOString(),
        version: policy.version,
        file,
        problems,
        message,
      })
      return {
        status: 'rejected',
        version: policy.version,
        error: error instanceof Error ? error : new Error(message),
      }
    }
    if (next.version === policy.version) return { status: 'unchanged', version: policy.version }
    const previous = policy
    policy = next // the atomic swap: every later decision sees the new policy whole
    const changes = diffPolicies(previous, next)
    debug('policy %s replaced %s (%d changes)', next.version, previous.version, changes.length)
    emit({
      type: 'policy',
      v: 1,
      action: 'changed',
      time: new Date().toISOString(),
      version: next.version,
      previousVersion: previous.version,
      file,
      changes,
      stageMoved: changes.some(
        (change) => change.subject === 'contract' && change.description.startsWith('stage '),
      ),
    })
    return { status: 'changed', version: next.version, previousVersion: previous.version }
  }
  const reload = (): Promise<ReloadResult> => {
    if (inflight !== undefined) {
      again = true // a change seen while loading is loaded right after
      return inflight
    }
    inflight = load().finally(() => {
      inflight = undefined
      if (again) {
        again = false
        void reload()
      }
    })
    return inflight
  }

  const watchers: FSWatcher[] = []
  let timer: NodeJS.Timeout | undefined
  const schedule = (): void => {
    clearTimeout(timer)
    timer = setTimeout(() => void reload(), 25)
    timer.unref()
  }
  if (settings.watch !== false) {
    try {
      // The directory, not the file: renames and symlink swaps replace the file's inode.
      const watcher = watch(dirname(file), { persistent: false }, (_event, name) => {
        if (name === null || name === basename(file) || name.startsWith('..')) schedule()
      })
      watcher.on('error', (error) => debug('policy watch error: %O', error))
      watchers.push(watcher)
    } catch (error) {
      debug('fs.watch unavailable, polling only: %O', error)
    }
    watchFile(file, { interval: settings.pollInterval ?? 1000, persistent: false }, schedule)
  }

  return {
    current: () => policy,
    reload,
    close: () => {
      clearTimeout(timer)
      for (const watcher of watchers) watcher.close()
      unwatchFile(file, schedule)
    },
  }
}
