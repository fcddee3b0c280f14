import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { listPackageFiles } from './package-imports.js'

/** `new URL('../../policy.schema.json', import.meta.url)`: a file read beside the code. */
const ASSET_URL = /new\s+URL\(\s*(['"`])(\.{1,2}\/[^'"`$]+)\1\s*,\s*import\.meta\.url\s*\)/g

/**
 * The files that the shipped JavaScript of an installed package locates relative to itself
 * (`new URL('…', import.meta.url)`, for a JSON Schema, a template, a worker) but that the
 * package does not contain: `files` in package.json left them out, and the code fails only
 * when it reaches them.
 *
 * @example
 * findMissingAssets(join(appDir, 'node_modules/@scopeguard/core')) // => [] when all is shipped
 */
export function findMissingAssets(dir: string): string[] {
  const missing: string[] = []
  for (const file of listPackageFiles(dir).filter((path) => /\.[cm]?js$/.test(path))) {
    for (const match of readFileSync(file, 'utf8').matchAll(ASSET_URL)) {
      const target = join(dirname(file), match[2] ?? '')
      if (!existsSync(target)) {
        missing.push(`${relative(dir, file)} reads ${relative(dir, target)}, which is not shipped`)
      }
    }
  }
  return missing
}
