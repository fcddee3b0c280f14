import { readFileSync } from 'node:fs'
import { flag, formatHelp, parseCommandArgs, type Command } from './command.js'
import { COMMANDS } from './commands/index.js'
import { CliError, EXIT, messageOf } from './errors.js'
import { createOutput, type CliIo, type Output } from './io.js'

/**
 * Runs the `scopeguard` command line: `argv` without the node and script paths. Output goes
 * to `io.stdout` (results) and `io.stderr` (errors, one line each: the stack only with
 * `--debug`). Resolves to the exit code and never throws: 0 when everything checked is fine,
 * 1 when a check failed, 2 for a usage or input error. For tests and tools; the `scopeguard`
 * binary calls it with the process's streams.
 *
 * @example
 * const code = await run(['validate', 'scopeguard.policy.yaml', '--json'], { stdout: process.stdout, stderr: process.stderr })
 */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const env = io.env ?? process.env
  const cwd = io.cwd ?? process.cwd()
  const noColor = argv.includes('--no-color')
  const out = createOutput(io.stdout, env, noColor)
  const err = createOutput(io.stderr, env, noColor)
  const [name, ...rest] = argv
  if (name === undefined) {
    err.line(mainHelp())
    return EXIT.usage
  }
  if (name === '--help' || name === '-h') {
    out.line(mainHelp())
    return EXIT.ok
  }
  if (name === '--version' || name === '-V') {
    out.line(version())
    return EXIT.ok
  }
  if (name === 'help') return help(rest[0], out, err)
  const command = findCommand(name)
  if (command === undefined) {
    err.line(
      `scopeguard: unknown command ${JSON.stringify(name)}${suggest(name)}; see scopeguard --help`,
    )
    return EXIT.usage
  }
  try {
    const args = parseCommandArgs(command, rest)
    if (flag(args, 'help')) {
      out.line(formatHelp(command))
      return EXIT.ok
    }
    return await command.run(args, { out, err, cwd })
  } catch (error) {
    return reportError(err, command.name, error, rest.includes('--debug'))
  }
}

function findCommand(name: string): Command | undefined {
  return COMMANDS.find((command) => command.name === name)
}

function help(name: string | undefined, out: Output, err: Output): number {
  if (name === undefined) {
    out.line(mainHelp())
    return EXIT.ok
  }
  const command = findCommand(name)
  if (command === undefined) {
    err.line(
      `scopeguard: unknown command ${JSON.stringify(name)}${suggest(name)}; see scopeguard --help`,
    )
    return EXIT.usage
  }
  out.line(formatHelp(command))
  return EXIT.ok
}

function reportError(err: Output, name: string, error: unknown, debug: boolean): number {
  const prefix = `scopeguard ${name}:`
  if (error instanceof CliError) {
    for (const detail of error.details) err.line(detail)
    const more = error.code === 'ERR_SG_CLI_USAGE' ? ` (see scopeguard ${name} --help)` : ''
    err.line(`${prefix} ${error.message}${more}`)
  } else {
    err.line(
      `${prefix} unexpected error: ${messageOf(error)}${debug ? '' : ' (--debug shows where)'}`,
    )
  }
  if (debug) {
    for (
      let cause: unknown = error;
      cause !== undefined;
      cause = (cause as { cause?: unknown }).cause
    ) {
      err.line(
        err.style.dim(cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)),
      )
      if (!(cause instanceof Error)) break
    }
  }
  return EXIT.usage
}

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length)) + 2
  return [
    'scopeguard: check the OAuth 2.0 scope policy of an Express or Koa API',
    '',
    'Usage: scopeguard <command> [arguments] [options]',
    '',
    'Commands:',
    ...COMMANDS.map((command) => `  ${command.name.padEnd(width)}${command.summary}`),
    '',
    'Every command has --help (its options, exit codes and examples), --json or --format json,',
    '--debug (the stack of an error) and --no-color (color is used only on a terminal, and',
    'never when NO_COLOR is set). Policies may be files or git:REF:path.',
    '',
    'Exit codes: 0 ok, 1 a check failed, 2 usage or input error.',
    'Documentation: https://github.com/scopeguard/scopeguard/blob/main/docs/cli.md',
  ].join('\n')
}

function version(): string {
  const manifest = JSON.parse(
    readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
  ) as {
    version: string
  }
  return manifest.version
}

function suggest(name: string): string {
  const close = COMMANDS.find(
    (command) =>
      command.name.startsWith(name) ||
      name.startsWith(command.name) ||
      distance(command.name, name) <= 2,
  )
  return close === undefined ? '' : ` (did you mean ${close.name}?)`
}

function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current.push(
        Math.min(
          (previous[j] ?? 0) + 1,
          (current[j - 1] ?? 0) + 1,
          (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
        ),
      )
    }
    previous = current
  }
  return previous[b.length] ?? Infinity
}
