import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runChecked } from './run-command.js'

/** The repository root. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url))

/** The fields of a package.json that these tests read. */
export interface Manifest {
  readonly name: string
  readonly version: string
  readonly private?: boolean
  readonly main?: string
  readonly types?: string
  readonly exports?: Record<string, unknown>
  readonly files?: readonly string[]
  readonly dependencies?: Readonly<Record<string, string>>
  readonly peerDependencies?: Readonly<Record<string, string>>
  readonly peerDependenciesMeta?: Readonly<Record<string, { optional?: boolean }>>
  readonly devDependencies?: Readonly<Record<string, string>>
}

/** A package of `packages/*` that is published to npm. */
export interface PublishablePackage {
  readonly name: string
  /** Absolute path of its directory. */
  readonly dir: string
  readonly manifest: Manifest
}

/** A publishable package packed into a tarball, as `npm publish` would upload it. */
export interface PackedPackage extends PublishablePackage {
  /** Absolute path of the `.tgz`. */
  readonly tarball: string
  /** Paths inside the tarball, relative to its `package/` folder. */
  readonly files: readonly string[]
}

/**
 * Reads a package.json.
 *
 * @example
 * readManifest('/work/main/packages/core').name // => '@scopeguard/core'
 */
export function readManifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest
}

/**
 * Every package of `packages/*` that is not `private`, sorted by name: the packages that get
 * published, found rather than listed so that new ones are checked from their first commit.
 *
 * @example
 * findPublishablePackages().map((p) => p.name) // => ['@scopeguard/core', '@scopeguard/express', …]
 */
export function findPublishablePackages(): PublishablePackage[] {
  const root = join(REPO_ROOT, 'packages')
  return readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(root, entry.name, 'package.json')))
    .map((entry) => {
      const dir = join(root, entry.name)
      const manifest = readManifest(dir)
      return { name: manifest.name, dir, manifest }
    })
    .filter((pkg) => pkg.manifest.private !== true)
    .sort((a, b) => a.name.localeCompare(b.name))
}

/**
 * Packs every package with `pnpm pack` into `destination`, as `pnpm publish` would: pnpm
 * rewrites `workspace:` ranges to real versions and applies `files`. The packages must be
 * built (`pnpm build`) first.
 *
 * @example
 * const packed = await packPackages(findPublishablePackages(), tmpDir)
 */
export async function packPackages(
  packages: readonly PublishablePackage[],
  destination: string,
): Promise<PackedPackage[]> {
  const unbuilt = packages.filter((pkg) => !existsSync(join(pkg.dir, 'dist')))
  if (unbuilt.length > 0) {
    throw new Error(
      `${unbuilt.map((pkg) => pkg.name).join(', ')} not built: run \`pnpm build\` before these tests`,
    )
  }
  return Promise.all(packages.map((pkg) => packPackage(pkg, destination)))
}

/**
 * How to start pnpm: the pnpm running `pnpm test` when there is one (so that
 * `npx -y pnpm@10.34.8 test` works without a global pnpm), else `pnpm` from the PATH.
 */
function pnpmCommand(): [string, string[]] {
  const execPath = process.env['npm_execpath']
  return execPath !== undefined && /pnpm/i.test(execPath)
    ? [process.execPath, [execPath]]
    : ['pnpm', []]
}

async function packPackage(pkg: PublishablePackage, destination: string): Promise<PackedPackage> {
  const [command, prefix] = pnpmCommand()
  const args = [...prefix, 'pack', '--pack-destination', destination, '--json']
  const { stdout } = await runChecked(command, args, { cwd: pkg.dir })
  const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as {
    filename: string
    files: { path: string }[]
  }
  const tarball = resolve(destination, report.filename)
  if (relative(destination, tarball).startsWith('..')) {
    throw new Error(`pnpm pack wrote ${pkg.name} to ${tarball}, outside ${destination}`)
  }
  return { ...pkg, tarball, files: report.files.map((file) => file.path).sort() }
}
