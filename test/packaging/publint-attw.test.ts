// publint (package.json against the files shipped) and Are the Types Wrong (types as each
// module resolution sees them) over the tarball of every publishable package.
import { readFileSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeOutsideTempDir } from './support/consumer-app.js'
import {
  REPO_ROOT,
  findPublishablePackages,
  packPackages,
  type PackedPackage,
} from './support/publishable-packages.js'
import { describeFailure, runCommand } from './support/run-command.js'

const PACKAGES = findPublishablePackages()

let packDir: string
let packed: PackedPackage[]

beforeAll(async () => {
  packDir = makeOutsideTempDir('scopeguard-lint-')
  packed = await packPackages(PACKAGES, packDir)
}, 120_000)

afterAll(() => {
  if (packDir) rmSync(packDir, { recursive: true, force: true })
})

/** The JavaScript file of a root devDependency's command, to run with this node. */
function binOf(packageName: string, command: string): string {
  const manifestPath = join(REPO_ROOT, 'node_modules', packageName, 'package.json')
  const { bin } = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
    bin: string | Record<string, string>
  }
  const file = typeof bin === 'string' ? bin : bin[command]
  if (file === undefined) throw new Error(`${packageName} has no ${command} command`)
  return join(dirname(manifestPath), file)
}

function tarballOf(name: string): string {
  const pkg = packed.find((p) => p.name === name)
  if (pkg === undefined) throw new Error(`${name} was not packed`)
  return pkg.tarball
}

describe.each(PACKAGES.map((pkg) => pkg.name))('the tarball of %s', (name) => {
  it('passes publint, warnings included', async () => {
    // --strict: a warning (a file that `exports` names but `files` leaves out, a condition in
    // the wrong order, …) breaks some user's install just as an error does.
    const result = await runCommand(
      process.execPath,
      [binOf('publint', 'publint'), 'run', tarballOf(name), '--strict'],
      { cwd: packDir },
    )
    expect(result.code, describeFailure(result)).toBe(0)
  }, 60_000)

  it('passes Are the Types Wrong for node10, node16 (ESM and CJS) and bundler', async () => {
    // The packages are ESM only and need Node.js >= 20.19, where require() loads ES modules.
    // attw's bundled TypeScript predates require(esm), so it reports `cjs-resolves-to-esm`
    // ("CommonJS consumers will need to use a dynamic import") for node16-from-CJS: that one
    // rule is ignored, and nothing else. `--profile esm-only` would instead stop checking the
    // node10 and node16-from-CJS resolutions altogether, hiding real problems there (missing
    // or untyped entry points). TypeScript's own view of require(esm) is checked by the
    // `.cts` consumer of install-from-tarballs.test.ts (module nodenext). The packages ship
    // their own types, so DefinitelyTyped is not consulted (and no registry is contacted).
    const result = await runCommand(
      process.execPath,
      [
        binOf('@arethetypeswrong/cli', 'attw'),
        tarballOf(name),
        '--ignore-rules',
        'cjs-resolves-to-esm',
        '--no-definitely-typed',
        '--format',
        'ascii',
      ],
      { cwd: packDir },
    )
    expect(result.code, describeFailure(result)).toBe(0)
  }, 60_000)
})
