import { spawn } from 'node:child_process'

/** What a finished child process printed, and how it ended. */
export interface CommandResult {
  readonly command: string
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Options of {@link runCommand}. */
export interface RunOptions {
  readonly cwd: string
  /** Milliseconds before the child is killed; default 120 s. */
  readonly timeoutMs?: number
}

/**
 * The environment of the tools a test starts: this process's, less the `npm_*` variables that
 * `pnpm test` sets (`npm_config_globalconfig`, `npm_config_node_gyp`, …), so that `npm` and
 * `pnpm` behave as when a user types them, and without colours, so that output reads plainly.
 *
 * @example
 * spawn('npm', ['install'], { env: toolEnv() })
 */
export function toolEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key)) env[key] = value
  }
  return { ...env, NO_COLOR: '1', FORCE_COLOR: '0' }
}

/**
 * Runs a command to its end without a shell and returns its output, whatever its exit code.
 *
 * @example
 * const { code, stdout } = await runCommand('pnpm', ['pack', '--json'], { cwd: packageDir })
 */
export function runCommand(
  command: string,
  args: readonly string[],
  { cwd, timeoutMs = 120_000 }: RunOptions,
): Promise<CommandResult> {
  const line = [command, ...args].join(' ')
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: toolEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(new Error(`could not start \`${line}\` in ${cwd}`, { cause: error }))
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ command: line, code, stdout, stderr })
    })
  })
}

/**
 * Runs a command like {@link runCommand} and throws, with everything it printed, unless it
 * exits with 0.
 *
 * @example
 * await runChecked('npm', ['install', '--no-audit', '--no-fund'], { cwd: appDir })
 */
export async function runChecked(
  command: string,
  args: readonly string[],
  options: RunOptions,
): Promise<CommandResult> {
  const result = await runCommand(command, args, options)
  if (result.code !== 0) throw new Error(describeFailure(result))
  return result
}

/**
 * The report of a command that failed: the command line, its exit code and its output.
 *
 * @example
 * expect(result.code, describeFailure(result)).toBe(0)
 */
export function describeFailure(result: CommandResult): string {
  return [
    `\`${result.command}\` exited with ${String(result.code)}`,
    result.stdout.trim() && `--- stdout\n${result.stdout.trim()}`,
    result.stderr.trim() && `--- stderr\n${result.stderr.trim()}`,
  ]
    .filter(Boolean)
    .join('\n')
}
