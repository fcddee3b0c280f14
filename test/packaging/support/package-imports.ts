import { readdirSync, readFileSync } from 'node:fs'
import { isBuiltin } from 'node:module'
import { join, relative, sep } from 'node:path'
import ts from 'typescript'
import type { Manifest } from './publishable-packages.js'

/** The packages that the shipped files of a package import, by kind of file. */
export interface PackageImports {
  /** Imported by `.js` files: needed at run time. */
  readonly runtime: ReadonlySet<string>
  /** Imported or referenced by `.d.ts` files: needed by TypeScript users. */
  readonly types: ReadonlySet<string>
}

/**
 * The packages (not Node.js built-ins, not relative paths) that the `.js` and `.d.ts` files
 * under `dir` (an installed package; its own node_modules aside) import, found by TypeScript's own pre-processor so that comments and strings
 * (doc examples in `.d.ts` files) are not mistaken for imports.
 *
 * @example
 * findPackageImports('node_modules/@scopeguard/express').types // => Set { 'express', '@scopeguard/core' }
 */
export function findPackageImports(dir: string): PackageImports {
  const runtime = new Set<string>()
  const types = new Set<string>()
  for (const file of listPackageFiles(dir)) {
    const isDeclaration = /\.d\.[cm]?ts$/.test(file)
    if (!isDeclaration && !/\.[cm]?js$/.test(file)) continue
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
    const specifiers = [
      ...info.importedFiles.map((ref) => ref.fileName),
      ...info.typeReferenceDirectives.map((ref) => ref.fileName),
    ]
    for (const specifier of specifiers) {
      const name = toPackageName(specifier)
      if (name !== undefined) (isDeclaration ? types : runtime).add(name)
    }
  }
  return { runtime, types }
}

/**
 * What is wrong between the imports of a package and the dependencies its manifest declares:
 * a run-time import that is not a dependency or a required peer dependency (a crash for
 * users), a type import whose package (or its `@types/`) is not declared (an error for
 * TypeScript users), and a declared dependency that nothing imports (weight for nothing).
 *
 * @example
 * checkDeclaredImports(manifest, findPackageImports(distDir)) // => [] when all is well
 */
export function checkDeclaredImports(manifest: Manifest, imports: PackageImports): string[] {
  const dependencies = Object.keys(manifest.dependencies ?? {})
  const peers = Object.keys(manifest.peerDependencies ?? {})
  const optional = (name: string) => manifest.peerDependenciesMeta?.[name]?.optional === true
  const declared = new Set([...dependencies, ...peers])
  const problems: string[] = []
  for (const name of imports.runtime) {
    if (name === manifest.name) continue
    if (!dependencies.includes(name) && !(peers.includes(name) && !optional(name))) {
      problems.push(`${name} is imported at run time but is not a dependency or required peer`)
    }
  }
  for (const name of imports.types) {
    if (name === manifest.name || declared.has(name) || declared.has(typesPackageOf(name))) continue
    problems.push(`${name} is imported by the shipped .d.ts files but is not declared`)
  }
  const used = (name: string) =>
    imports.runtime.has(name) || imports.types.has(name) || imports.types.has(typedPackageOf(name))
  for (const name of [...dependencies, ...peers]) {
    if (!used(name)) problems.push(`${name} is declared but nothing shipped imports it`)
  }
  return problems
}

/** `@types/express` for `express`, `@types/koa__router` for `@koa/router`. */
function typesPackageOf(name: string): string {
  return `@types/${name.startsWith('@') ? name.slice(1).replace('/', '__') : name}`
}

/** `express` for `@types/express`, `@koa/router` for `@types/koa__router`; else the name. */
function typedPackageOf(name: string): string {
  if (!name.startsWith('@types/')) return name
  const bare = name.slice('@types/'.length)
  return bare.includes('__') ? `@${bare.replace('__', '/')}` : bare
}

function toPackageName(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || isBuiltin(specifier)) {
    return undefined
  }
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]
}

/**
 * Every file of an installed package, less those of its own `node_modules`.
 *
 * @example
 * listPackageFiles(join(appDir, 'node_modules/@scopeguard/core')) // => ['/tmp/…/dist/index.js', …]
 */
export function listPackageFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((file) => !relative(dir, file).split(sep).includes('node_modules'))
}
