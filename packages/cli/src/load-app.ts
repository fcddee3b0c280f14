import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { inputError, messageOf, usageError } from './errors.js'

/** The web frameworks whose apps `scopeguard coverage` reads. */
export type Framework = 'express' | 'koa'

/** A route an app registers, as the adapters' listRoutes returns it. */
export interface AppRoute {
  readonly method: string
  readonly path: string
}

/** The routes of an app module's app. */
export interface AppRoutes {
  readonly framework: Framework
  readonly file: string
  /** The export the app was read from: `default` or a name. */
  readonly exportName: string
  readonly routes: readonly AppRoute[]
}

const ADAPTERS: Readonly<Record<Framework, string>> = {
  express: '@scopeguard/express',
  koa: '@scopeguard/koa',
}

/**
 * Imports an app module (which must export the app without calling `listen`), picks the app
 * (the export named `exportName`; by default the default export, else the one export that is
 * an app), tells Express from Koa, and lists its routes with the adapter's own listRoutes.
 * The adapter (`@scopeguard/express` or `@scopeguard/koa`) is imported from where the app
 * module resolves it, so the listing is the one of the adapter the app uses; the CLI's own
 * location is the fallback. A module that cannot be imported, an export that is not an app
 * and a missing adapter are input errors, each one line.
 *
 * @example
 * const { framework, routes } = await loadAppRoutes('dist/app.js', undefined, process.cwd())
 */
export async function loadAppRoutes(
  spec: string,
  exportName: string | undefined,
  cwd: string,
): Promise<AppRoutes> {
  const file = resolve(cwd, spec)
  if (!existsSync(file)) throw inputError(`cannot import ${spec}: no such file`)
  let module: Record<string, unknown>
  try {
    module = (await import(pathToFileURL(file).href)) as Record<string, unknown>
  } catch (error) {
    const hint =
      (error as { code?: unknown }).code === 'ERR_UNKNOWN_FILE_EXTENSION'
        ? ' (point --app at the built JavaScript, or run node with a TypeScript loader)'
        : ''
    throw inputError(`cannot import ${spec}: ${messageOf(error)}${hint}`, error)
  }
  const [name, value] = pickExport(spec, module, exportName)
  const app: unknown = isThenable(value) ? await value : value
  const framework = frameworkOf(app)
  if (framework === undefined) {
    throw inputError(
      `the ${name === 'default' ? 'default export' : `export "${name}"`} of ${spec} is neither an ` +
        'Express app (a function with .handle and .router) nor a Koa app (.middleware and ' +
        '.callback)' +
        (typeof app === 'function' ? '; export the app itself, not a function that makes one' : ''),
    )
  }
  const listRoutes = await importListRoutes(framework, file)
  let routes: AppRoute[]
  try {
    routes = listRoutes(app)
  } catch (error) {
    throw inputError(`cannot list the routes of ${spec}: ${messageOf(error)}`, error)
  }
  return { framework, file: spec, exportName: name, routes }
}

function pickExport(
  spec: string,
  module: Record<string, unknown>,
  exportName: string | undefined,
): [string, unknown] {
  const names = Object.keys(module)
  if (exportName !== undefined) {
    if (!Object.hasOwn(module, exportName)) {
      throw usageError(
        `${spec} has no export "${exportName}" (it exports ${names.join(', ') || 'nothing'})`,
      )
    }
    return [exportName, module[exportName]]
  }
  if (module['default'] !== undefined) return ['default', module['default']]
  const apps = names.filter((name) => frameworkOf(module[name]) !== undefined)
  if (apps.length === 1) {
    const only = apps[0] as string
    return [only, module[only]]
  }
  throw inputError(
    apps.length === 0
      ? `${spec} exports no Express or Koa app (exports: ${names.join(', ') || 'none'}); export the app, without calling listen()`
      : `${spec} exports several apps (${apps.join(', ')}): choose one with --export`,
  )
}

/** Express 5: the app is a request handler with `handle`, `router` and `listen`; Koa: `middleware` and `callback`. */
function frameworkOf(app: unknown): Framework | undefined {
  if (typeof app === 'function') {
    const candidate = app as unknown as Record<string, unknown>
    if (
      typeof candidate['handle'] === 'function' &&
      'router' in candidate &&
      typeof candidate['listen'] === 'function'
    )
      return 'express'
  }
  if (typeof app === 'object' && app !== null) {
    const candidate = app as Record<string, unknown>
    if (Array.isArray(candidate['middleware']) && typeof candidate['callback'] === 'function')
      return 'koa'
  }
  return undefined
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}

async function importListRoutes(
  framework: Framework,
  appFile: string,
): Promise<(app: unknown) => AppRoute[]> {
  const name = ADAPTERS[framework]
  const resolved = resolveFrom(name, appFile) ?? resolveFrom(name, import.meta.filename)
  const label = framework === 'express' ? 'an Express' : 'a Koa'
  if (resolved === undefined) {
    throw inputError(
      `listing the routes of ${label} app needs ${name}: install it where the app module can import it (npm install ${name})`,
    )
  }
  let adapter: { listRoutes?: unknown }
  try {
    adapter = (await import(pathToFileURL(resolved).href)) as { listRoutes?: unknown }
  } catch (error) {
    throw inputError(`cannot import ${name}: ${messageOf(error)}`, error)
  }
  if (typeof adapter.listRoutes !== 'function') {
    throw inputError(`${name} has no listRoutes(): upgrade it to a version with route listing`)
  }
  return adapter.listRoutes as (app: unknown) => AppRoute[]
}

function resolveFrom(name: string, file: string): string | undefined {
  try {
    return createRequire(file).resolve(name)
  } catch {
    return undefined
  }
}
