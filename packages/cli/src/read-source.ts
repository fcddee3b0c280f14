import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { promisify } from 'node:util'
import { inputError, messageOf, usageError } from './errors.js'

const run = promisify(execFile)

/** The text of a file the command was given, and the name problems call it by. */
export interface Source {
  /** As the user wrote it: `policy.yaml`, `git:origin/main:policy.yaml`. */
  readonly name: string
  readonly text: string
}

const GIT_SPEC = /^git:([^:]+):(.+)$/s

/**
 * Reads a file named on the command line: a path (relative to `cwd`), or `git:REF:path`,
 * read with `git show REF:path` in `cwd` (the path is relative to the repository root, or
 * to `cwd` when written `./path`, as git reads it). A file that cannot be read is an input
 * error saying which file and why, in one line.
 *
 * @example
 * const source = await readSource('git:origin/main:scopeguard.policy.yaml', process.cwd())
 */
export async function readSource(spec: string, cwd: string): Promise<Source> {
  if (spec.startsWith('git:')) return readFromGit(spec, cwd)
  try {
    return { name: spec, text: await readFile(resolve(cwd, spec), 'utf8') }
  } catch (error) {
    throw inputError(`cannot read ${spec}: ${fileProblem(error)}`, error)
  }
}

async function readFromGit(spec: string, cwd: string): Promise<Source> {
  const match = GIT_SPEC.exec(spec)
  if (match === null) throw usageError(`${JSON.stringify(spec)} is not git:REF:path`)
  const [, ref = '', path = ''] = match
  try {
    const { stdout } = await run('git', ['show', `${ref}:${path}`], {
      cwd,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    })
    return { name: spec, text: stdout }
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: string }
    const reason =
      failure.code === 'ENOENT'
        ? 'git is not installed or not on the PATH'
        : ((failure.stderr ?? '')
            .split('\n')
            .find((line) => line.trim() !== '')
            ?.replace(/^(fatal|error): /, '') ?? messageOf(error))
    throw inputError(`cannot read ${spec}: ${reason}`, error)
  }
}

/** What went wrong reading a file, in words. */
function fileProblem(error: unknown): string {
  switch ((error as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return 'no such file'
    case 'EISDIR':
      return 'it is a directory, not a file'
    case 'EACCES':
    case 'EPERM':
      return 'permission denied'
    default:
      return messageOf(error)
  }
}
