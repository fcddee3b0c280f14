/** Where a command writes: the process's streams, or anything with `write` (tests, tools). */
export interface CliIo {
  readonly stdout: OutputStream
  readonly stderr: OutputStream
  /** The environment (`NO_COLOR`); default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>
  /** The directory relative paths are read from; default `process.cwd()`. */
  readonly cwd?: string
}

/** A stream a command writes text to. Color is used only when `isTTY` is true. */
export interface OutputStream {
  write(chunk: string): unknown
  readonly isTTY?: boolean
}

/** Text styles; each is the identity when color is off. */
export interface Style {
  bold(text: string): string
  dim(text: string): string
  red(text: string): string
  green(text: string): string
  yellow(text: string): string
  cyan(text: string): string
}

/** A stream with its styles: what commands print through. */
export interface Output {
  readonly color: boolean
  readonly style: Style
  /** Writes one line (a newline is added). */
  line(text?: string): void
}

const plain: Style = {
  bold: (t) => t,
  dim: (t) => t,
  red: (t) => t,
  green: (t) => t,
  yellow: (t) => t,
  cyan: (t) => t,
}

const sgr =
  (open: number, close: number) =>
  (text: string): string =>
    `\u001b[${open}m${text}\u001b[${close}m`

const ansi: Style = {
  bold: sgr(1, 22),
  dim: sgr(2, 22),
  red: sgr(31, 39),
  green: sgr(32, 39),
  yellow: sgr(33, 39),
  cyan: sgr(36, 39),
}

/**
 * Wraps a stream for printing. Color only on a terminal (`isTTY`), and never when
 * `NO_COLOR` is set to anything but the empty string (https://no-color.org) or the user
 * passed `--no-color`.
 *
 * @example
 * const out = createOutput(process.stdout, process.env, false)
 * out.line(out.style.red('error'))
 */
export function createOutput(
  stream: OutputStream,
  env: Readonly<Record<string, string | undefined>>,
  noColor: boolean,
): Output {
  const color = stream.isTTY === true && !noColor && (env['NO_COLOR'] ?? '') === ''
  return {
    color,
    style: color ? ansi : plain,
    line: (text = '') => {
      stream.write(`${text}\n`)
    },
  }
}
