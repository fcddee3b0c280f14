import { parseArgs } from 'node:util'
import { usageError } from './errors.js'
import type { Output } from './io.js'

/** An option of a command, as `node:util` parseArgs reads it and the help shows it. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean'
  readonly short?: string
  /** The placeholder of its value in the help: `--client <id>`. */
  readonly value?: string
  readonly description: string
}

/** A positional argument, as the help shows it. */
export interface ArgumentSpec {
  readonly name: string
  readonly description: string
  readonly optional?: boolean
  /** The last argument only: it takes every remaining positional (`<audit.jsonl…>`). */
  readonly variadic?: boolean
}

/** What a command receives: its positionals and option values, already checked by parseArgs. */
export interface ParsedArgs {
  readonly positionals: readonly string[]
  readonly values: Readonly<Record<string, string | boolean | undefined>>
}

/** Where a command prints and reads. */
export interface CommandContext {
  /** stdout: the result. */
  readonly out: Output
  /** stderr: errors, notes, progress. */
  readonly err: Output
  /** The directory relative paths are resolved from. */
  readonly cwd: string
}

/**
 * One `scopeguard` command. A new command is a file in `src/commands/` exporting one of
 * these, added to the list in `src/commands/index.ts`; the dispatcher gives it `--help`,
 * `--debug` and `--no-color`, parses its options and reports its errors.
 */
export interface Command {
  readonly name: string
  /** One line, for `scopeguard --help`. */
  readonly summary: string
  readonly arguments: readonly ArgumentSpec[]
  readonly options: Readonly<Record<string, OptionSpec>>
  /** What it does, a few lines. */
  readonly description: string
  /** What its exit codes mean. */
  readonly exitCodes: readonly (readonly [number, string])[]
  readonly examples: readonly string[]
  /** Runs the command; resolves to its exit code, throws a CliError when it cannot run. */
  run(args: ParsedArgs, context: CommandContext): Promise<number>
}

/** The options every command has. */
export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  help: { type: 'boolean', short: 'h', description: 'show this help' },
  debug: { type: 'boolean', description: 'show the stack trace of an error' },
  'no-color': { type: 'boolean', description: 'no colors, even on a terminal' },
}

/**
 * Parses the arguments of a command with `node:util` parseArgs (strict: an unknown option
 * or a missing value is a usage error) and checks the number of positionals.
 *
 * @example
 * parseCommandArgs(validate, ['policy.yaml', '--json']).values.json // => true
 */
export function parseCommandArgs(command: Command, argv: readonly string[]): ParsedArgs {
  const options = { ...command.options, ...GLOBAL_OPTIONS }
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({
      args: [...argv],
      options: Object.fromEntries(
        Object.entries(options).map(([name, spec]) => [
          name,
          spec.short === undefined ? { type: spec.type } : { type: spec.type, short: spec.short },
        ]),
      ),
      allowPositionals: true,
      strict: true,
    })
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    throw usageError(message.split('\n')[0]?.replace(/\. To specify a positional.*$/, '') ?? '')
  }
  const values = parsed.values as Record<string, string | boolean | undefined>
  if (values['help'] === true) return { positionals: parsed.positionals, values }
  const required = command.arguments.filter((argument) => argument.optional !== true)
  if (parsed.positionals.length < required.length) {
    const missing = required.slice(parsed.positionals.length).map((argument) => argument.name)
    throw usageError(`missing ${missing.join(' and ')}`)
  }
  const variadic = command.arguments.at(-1)?.variadic === true
  if (parsed.positionals.length > command.arguments.length && !variadic) {
    const extra = parsed.positionals.slice(command.arguments.length)
    throw usageError(`unexpected argument ${JSON.stringify(extra[0])}`)
  }
  return { positionals: parsed.positionals, values }
}

/**
 * The value of a string option, or undefined when it was not given.
 *
 * @example
 * stringOption(args, 'client') // => 'reader' for --client reader
 */
export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name]
  return typeof value === 'string' ? value : undefined
}

/**
 * The value of a string option that must be given: a usage error without it.
 *
 * @example
 * requiredOption(args, 'app') // throws "--app is required" when absent
 */
export function requiredOption(args: ParsedArgs, name: string): string {
  const value = stringOption(args, name)
  if (value === undefined) throw usageError(`--${name} is required`)
  return value
}

/**
 * Whether a boolean option was given.
 *
 * @example
 * flag(args, 'strict') // => true for --strict
 */
export function flag(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true
}

/**
 * The output format: `--format <one of choices>`, or `json` with `--json`.
 *
 * @example
 * formatOption(args, ['text', 'markdown', 'json']) // => 'text' by default
 */
export function formatOption<const T extends string>(args: ParsedArgs, choices: readonly T[]): T {
  const format = stringOption(args, 'format')
  if (flag(args, 'json')) {
    if (format !== undefined && format !== 'json')
      throw usageError(`--json and --format ${format} contradict each other`)
    return 'json' as T
  }
  if (format === undefined) return choices[0] as T
  if (!(choices as readonly string[]).includes(format)) {
    throw usageError(`--format must be ${listOr(choices)}, not ${JSON.stringify(format)}`)
  }
  return format as T
}

/**
 * Words joined for a sentence.
 *
 * @example
 * listOr(['text', 'markdown', 'json']) // => 'text, markdown or json'
 */
export function listOr(words: readonly string[]): string {
  return words.length <= 1
    ? words.join('')
    : `${words.slice(0, -1).join(', ')} or ${words.at(-1) ?? ''}`
}

/**
 * The help of a command: usage, description, arguments, options, exit codes and examples.
 *
 * @example
 * out.line(formatHelp(validate))
 */
export function formatHelp(command: Command): string {
  const usage = [
    `scopeguard ${command.name}`,
    ...command.arguments.map((a) => (a.optional === true ? `[${a.name}]` : a.name)),
    '[options]',
  ].join(' ')
  const rows = (entries: readonly (readonly [string, string])[]): string[] => {
    const width = Math.max(...entries.map(([left]) => left.length)) + 2
    return entries.map(([left, right]) => `  ${left.padEnd(width)}${right}`)
  }
  const optionRows = Object.entries({ ...command.options, ...GLOBAL_OPTIONS }).map(
    ([name, spec]): [string, string] => [
      `${spec.short === undefined ? '    ' : `-${spec.short}, `}--${name}` +
        (spec.type === 'string' ? ` <${spec.value ?? 'value'}>` : ''),
      spec.description,
    ],
  )
  return [
    `Usage: ${usage}`,
    '',
    command.description,
    ...(command.arguments.length === 0
      ? []
      : ['', 'Arguments:', ...rows(command.arguments.map((a) => [a.name, a.description]))]),
    '',
    'Options:',
    ...rows(optionRows),
    '',
    'Exit codes:',
    ...rows(command.exitCodes.map(([code, meaning]) => [String(code), meaning])),
    '',
    'Examples:',
    ...command.examples.map((example) => `  ${example}`),
  ].join('\n')
}
