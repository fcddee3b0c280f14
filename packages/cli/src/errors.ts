import { ScopeguardError } from '@scopeguard/core'

/** The exit codes of every command: stable, documented in docs/cli.md. */
export const EXIT = Object.freeze({
  /** The command ran and everything it checked is fine. */
  ok: 0,
  /** The command ran and a check failed (a problem, a widening, an uncovered route, a case). */
  failed: 1,
  /** The command could not run: bad arguments, or an input it could not read or use. */
  usage: 2,
})

/**
 * A reason the command cannot run, shown to the user as one line on stderr (the stack only
 * with `--debug`). `code` is stable: `ERR_SG_CLI_USAGE` for arguments, `ERR_SG_CLI_INPUT`
 * for files, modules and values that cannot be read or used. Detail travels as `cause`.
 *
 * @example
 * throw new CliError('ERR_SG_CLI_INPUT', 'cannot read policy.yaml: no such file', { cause: error })
 */
export class CliError extends ScopeguardError {
  /** The exit code the command ends with: 2. */
  readonly exitCode: number = EXIT.usage
  /** Lines printed before the message (the problems of a policy that does not validate). */
  readonly details: readonly string[]

  constructor(
    code: 'ERR_SG_CLI_USAGE' | 'ERR_SG_CLI_INPUT',
    message: string,
    options: { cause?: unknown; details?: readonly string[] } = {},
  ) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause })
    this.details = options.details ?? []
  }
}

/**
 * A mistake in the command line: an unknown option, a missing argument, a bad value.
 *
 * @example
 * throw usageError('--format must be text, markdown or json')
 */
export function usageError(message: string): CliError {
  return new CliError('ERR_SG_CLI_USAGE', message)
}

/**
 * An input the command cannot read or use: a missing file, a YAML syntax error in a case
 * table, an app module that throws on import.
 *
 * @example
 * throw inputError(`cannot import ${file}: ${reason}`, error)
 */
export function inputError(
  message: string,
  cause?: unknown,
  details: readonly string[] = [],
): CliError {
  return new CliError('ERR_SG_CLI_INPUT', message, { cause, details })
}

/**
 * The message of anything thrown, its first line only.
 *
 * @example
 * messageOf(new Error('connect ECONNREFUSED\n    at …')) // => 'connect ECONNREFUSED'
 */
export function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error)
  return text.split('\n')[0]?.trim() ?? ''
}
