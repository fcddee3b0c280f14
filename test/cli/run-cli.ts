/**
 * Runs the built `scopeguard` binary (packages/cli/dist/cli.js, built by `tsc -b`) as a
 * subprocess, as CI runs it, and returns its exit code and output.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const CLI = fileURLToPath(new URL('../../packages/cli/dist/cli.js', import.meta.url))
/** Fixture paths relative to the repository root, as a user would type them there. */
export const FIXTURES = 'test/cli/fixtures'

export interface CliResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs `scopeguard …args` in `cwd` (the repository root by default), without a terminal and
 * without NO_COLOR, so that any color would come from a bug.
 *
 * @example
 * const { code, stdout } = await scopeguard(['validate', `${FIXTURES}/items.policy.yaml`])
 */
export function scopeguard(
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const env = { ...process.env, ...options.env }
  delete env['NO_COLOR']
  delete env['FORCE_COLOR']
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: options.cwd ?? REPO_ROOT, env, encoding: 'utf8', timeout: 20_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1
        resolve({ code, stdout, stderr })
      },
    )
  })
}

/** The non-empty lines of an output. */
export function lines(text: string): string[] {
  return text.split('\n').filter((line) => line !== '')
}

/** Texts with YAML syntax errors, written by the tests (Prettier would refuse them as files). */
export const BROKEN_YAML = {
  'syntax-error.policy.yaml':
    'version: 1\nscopes:\n  read:items: {}\nroutes:\n  GET /items: [read:items\n',
  'syntax-error.cases.yaml':
    'cases:\n  - name: broken\n    request: { path: /items, token: null\n    expect: { status: 401 }\n',
} as const

/**
 * A temporary directory holding the broken YAML files, for commands run with it as `cwd`.
 *
 * @example
 * const dir = writeBrokenYaml(); await scopeguard(['validate', 'syntax-error.policy.yaml'], { cwd: dir })
 */
export function writeBrokenYaml(): string {
  const dir = mkdtempSync(join(tmpdir(), 'scopeguard-cli-yaml-'))
  for (const [name, text] of Object.entries(BROKEN_YAML)) writeFileSync(join(dir, name), text)
  return dir
}
