import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { REPO_ROOT, readManifest, type PackedPackage } from './publishable-packages.js'
import { runChecked } from './run-command.js'

/** The consumer files (apps, `require()` check, typed consumer) copied into the app. */
const CONSUMER_FILES = new URL('../consumer/', import.meta.url)

/**
 * What a user installs next to scopeguard, at the ranges the workspace itself develops
 * against (root devDependencies), so that both meet the same major versions.
 */
const THIRD_PARTY = ['express', 'koa', '@koa/router', '@types/express', '@types/koa', '@types/node']

/**
 * Makes a temporary directory outside the repository, so that nothing of the workspace
 * (node_modules, pnpm's links, tsconfig files) can be found from it.
 *
 * @example
 * const dir = makeOutsideTempDir('scopeguard-consumer-')
 */
export function makeOutsideTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  if (!relative(REPO_ROOT, dir).startsWith('..')) {
    rmSync(dir, { recursive: true, force: true })
    throw new Error(`the temporary directory ${dir} is inside the repository: set TMPDIR elsewhere`)
  }
  return dir
}

/**
 * Creates a throwaway ESM app in `dir` as a user would: a package.json, the consumer files,
 * and one plain `npm install` of the packed tarballs with Express, Koa, @koa/router and their
 * types from the registry.
 *
 * @example
 * await createConsumerApp(dir, await packPackages(findPublishablePackages(), packDir))
 */
export async function createConsumerApp(
  dir: string,
  packed: readonly PackedPackage[],
): Promise<void> {
  const workspace = readManifest(REPO_ROOT).devDependencies ?? {}
  const dependencies: Record<string, string> = {}
  for (const pkg of packed) dependencies[pkg.name] = `file:${pkg.tarball}`
  for (const name of THIRD_PARTY) {
    const range = workspace[name]
    if (range === undefined) throw new Error(`${name} is no longer a root devDependency`)
    dependencies[name] = range
  }
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: 'scopeguard-consumer', private: true, type: 'module', dependencies }, null, 2)}\n`,
  )
  cpSync(CONSUMER_FILES, dir, { recursive: true })
  await runChecked('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], {
    cwd: dir,
    timeoutMs: 240_000,
  })
}

/**
 * Where npm installed each package of the app from, by package path
 * (`node_modules/@scopeguard/core` → `file:/tmp/…/scopeguard-core-0.1.0.tgz`).
 *
 * @example
 * installedFrom(appDir)['node_modules/@scopeguard/core']
 */
export function installedFrom(dir: string): Record<string, string | undefined> {
  const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { resolved?: string; version?: string }>
  }
  return Object.fromEntries(
    Object.entries(lock.packages).map(([path, entry]) => [path, entry.resolved]),
  )
}
