// The packages as users really install them: packed by pnpm, installed by plain npm into a
// throwaway app outside the repository, then run, require()d and type-checked there.
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { dirname, join, posix } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  DEMO_CLIENTS,
  ITEMS_API,
  startAuthzServer,
  type AuthzServer,
} from '@scopeguard-examples/authz-server'
import { createConsumerApp, installedFrom, makeOutsideTempDir } from './support/consumer-app.js'
import { startNodeApp } from './support/node-app.js'
import { findMissingAssets } from './support/package-assets.js'
import {
  checkDeclaredImports,
  findPackageImports,
  listPackageFiles,
} from './support/package-imports.js'
import {
  findPublishablePackages,
  packPackages,
  readManifest,
  type Manifest,
  type PackedPackage,
} from './support/publishable-packages.js'
import { describeFailure, runCommand } from './support/run-command.js'
import { typeCheckConsumer } from './support/type-check.js'

const PACKAGES = findPublishablePackages()
const NAMES = PACKAGES.map((pkg) => pkg.name)

/** Exports that users of each package rely on; packages added later are at least loaded. */
const EXPECTED_EXPORTS: Readonly<Record<string, readonly string[]>> = {
  '@scopeguard/core': ['createGuard', 'ScopeguardConfigError', 'compileRequirement'],
  '@scopeguard/express': ['scopeguard', 'requireScopes', 'ScopeguardConfigError', 'createGuard'],
  '@scopeguard/koa': ['scopeguard', 'requireScopes', 'ScopeguardConfigError', 'createGuard'],
}

let packDir: string
let appDir: string
let packed: PackedPackage[]
let authz: AuthzServer

beforeAll(async () => {
  packDir = makeOutsideTempDir('scopeguard-pack-')
  appDir = makeOutsideTempDir('scopeguard-consumer-')
  const install = async () => {
    packed = await packPackages(PACKAGES, packDir)
    await createConsumerApp(appDir, packed)
  }
  const start = async () => {
    authz = await startAuthzServer()
  }
  await Promise.all([install(), start()])
}, 300_000)

afterAll(async () => {
  await authz?.stop()
  for (const dir of [packDir, appDir]) if (dir) rmSync(dir, { recursive: true, force: true })
})

function packedOf(name: string): PackedPackage {
  const pkg = packed.find((p) => p.name === name)
  if (pkg === undefined) throw new Error(`${name} was not packed`)
  return pkg
}

function installedDir(name: string): string {
  return join(appDir, 'node_modules', ...name.split('/'))
}

/** The package.json as published: pnpm has rewritten `workspace:` ranges and `publishConfig`. */
function installedManifest(name: string): Manifest {
  return readManifest(installedDir(name))
}

describe.each(NAMES)('the tarball of %s', (name) => {
  it('holds package.json, README.md, CHANGELOG.md, LICENSE and every entry point', () => {
    const { files } = packedOf(name)
    const manifest = installedManifest(name)
    const entryPoints = [manifest.main, manifest.types, ...targetsOf(manifest.exports)]
      .filter((path): path is string => path !== undefined)
      .map((path) => posix.normalize(path))
    const required = new Set([
      'package.json',
      'README.md',
      'CHANGELOG.md',
      'LICENSE',
      ...entryPoints,
    ])
    expect([...required].filter((path) => !files.includes(path))).toEqual([])
  })

  it('holds no build info, tests or stale output without a source', () => {
    const { files, dir } = packedOf(name)
    expect(
      files.filter((path) => /\.tsbuildinfo$|(^|\/)test\/|\.test\.[cm]?[jt]s$/.test(path)),
    ).toEqual([])
    // `tsc -b` never deletes: the output of a removed or renamed source would be published.
    const stale = files
      .filter((path) => /^dist\/.*\.(d\.ts|js)$/.test(path))
      .filter((path) => !existsSync(join(dir, sourceOf(path))))
    expect(stale, 'build output without a source: rm -rf packages/*/dist && pnpm build').toEqual([])
  })

  it('installs from the tarball, one copy, not from the registry', () => {
    const lock = installedFrom(appDir)
    expect(lock[`node_modules/${name}`]).toMatch(/^file:/)
    const copies = Object.keys(lock).filter((path) => path.endsWith(`node_modules/${name}`))
    expect(copies).toEqual([`node_modules/${name}`])
  })

  it('has source maps whose sources it ships', () => {
    const dir = installedDir(name)
    const missing: string[] = []
    for (const map of listPackageFiles(dir).filter((file) => file.endsWith('.map'))) {
      const { sources } = JSON.parse(readFileSync(map, 'utf8')) as { sources: string[] }
      for (const source of sources) {
        const path = join(dirname(map), source)
        if (!existsSync(path)) missing.push(`${map.slice(dir.length + 1)} → ${source}`)
      }
    }
    expect(missing).toEqual([])
  })

  it('ships every file that its code reads beside itself (new URL(…, import.meta.url))', () => {
    expect(findMissingAssets(installedDir(name))).toEqual([])
  })

  it('declares every package it imports, and imports every package it declares', () => {
    const imports = findPackageImports(installedDir(name))
    expect(checkDeclaredImports(installedManifest(name), imports)).toEqual([])
  })
})

describe.each([
  ['@scopeguard/express', 'express-app.mjs'],
  ['@scopeguard/koa', 'koa-app.mjs'],
])('an app using the installed %s (%s)', (_name, file) => {
  let url: string
  let stop: () => Promise<void>
  let readerToken: string

  beforeAll(async () => {
    const app = await startNodeApp(appDir, file, {
      SG_ISSUER: authz.issuer,
      SG_AUDIENCE: ITEMS_API,
    })
    ;({ url, stop } = app)
    readerToken = await authz.token(DEMO_CLIENTS.reader)
  }, 60_000)
  afterAll(() => stop?.())

  it('serves a caller with the required scope: 200 and the caller in req.auth / ctx.state.auth', async () => {
    const response = await fetch(`${url}/items`, {
      headers: { authorization: `Bearer ${readerToken}` },
    })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ items: [], client: 'reader', scopes: ['read:items'] })
  })

  it('refuses a request without a token: 401 with a bare Bearer challenge', async () => {
    const response = await fetch(`${url}/items`)
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="api"')
  })

  it('refuses a caller without the scope: 403 insufficient_scope', async () => {
    const response = await fetch(`${url}/items/42`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${readerToken}` },
    })
    expect(response.status).toBe(403)
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer realm="api", error="insufficient_scope", scope="delete:items"',
    )
  })
})

describe('a CommonJS app', () => {
  it('require()s every package and finds its exports', async () => {
    const loadable = NAMES.filter((name) => hasMainEntry(installedManifest(name).exports))
    const result = await runCommand(process.execPath, ['require-packages.cjs', ...loadable], {
      cwd: appDir,
    })
    expect(result.code, describeFailure(result)).toBe(0)
    const report = JSON.parse(result.stdout) as Record<
      string,
      { exports: Record<string, string>; sameConfigError: boolean }
    >
    for (const name of loadable) {
      const loaded = report[name]
      expect(loaded, name).toBeDefined()
      for (const key of EXPECTED_EXPORTS[name] ?? []) {
        expect(loaded?.exports[key], `${name} exports ${key}`).toBe('function')
      }
      if (loaded?.exports['ScopeguardConfigError'] !== undefined) {
        expect(loaded.sameConfigError, `${name} shares core's error classes`).toBe(true)
      }
    }
  })
})

describe.each(['node16', 'nodenext', 'bundler'] as const)(
  'a TypeScript app with moduleResolution %s',
  (mode) => {
    it('compiles against the public types (req.auth, ctx.state.auth, options, codes)', async () => {
      const { errors } = await typeCheckConsumer(appDir, mode)
      expect(errors).toEqual([])
    }, 60_000)
  },
)

/** Every file path that an `exports` map points at (patterns with `*` aside). */
function targetsOf(exports: unknown): string[] {
  if (typeof exports === 'string') return exports.includes('*') ? [] : [exports]
  if (exports === null || typeof exports !== 'object') return []
  return Object.values(exports).flatMap(targetsOf)
}

/** Whether `import`/`require` of the bare package name resolves (a CLI may have no entry). */
function hasMainEntry(exports: unknown): boolean {
  if (typeof exports === 'string') return true
  return exports !== null && typeof exports === 'object' && '.' in exports
}

/** `src/verify/verify-jwt.ts` for `dist/verify/verify-jwt.js` or `dist/verify/verify-jwt.d.ts`. */
function sourceOf(output: string): string {
  return output.replace(/^dist\//, 'src/').replace(/\.d\.ts$|\.js$/, '.ts')
}
