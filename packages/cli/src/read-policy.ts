import {
  compilePolicy,
  formatProblem,
  validatePolicySource,
  type CompiledPolicy,
  type PolicyDocument,
  type PolicyProblem,
} from '@scopeguard/core'
import { inputError } from './errors.js'
import { readSource, type Source } from './read-source.js'

/** Problems of an invalid policy listed before the error line; `validate` lists them all. */
const MAX_SHOWN = 10

/** A policy read, validated and compiled as the middleware would. */
export interface LoadedPolicy {
  readonly source: Source
  readonly document: PolicyDocument
  readonly policy: CompiledPolicy
  /** The warnings of a valid policy. */
  readonly problems: readonly PolicyProblem[]
}

/**
 * Reads a policy file (or `git:REF:path`) and validates it with core's validatePolicySource,
 * the check the middleware runs at start-up, then compiles it. A policy with errors is an
 * input error (exit 2) whose details are its problems, one line each (a syntax error: only
 * the first, as the error line); `scopeguard validate` reports them as its own result instead.
 *
 * @example
 * const { policy } = await readPolicy('scopeguard.policy.yaml', process.cwd())
 */
export async function readPolicy(spec: string, cwd: string): Promise<LoadedPolicy> {
  const source = await readSource(spec, cwd)
  return compileSource(source)
}

/**
 * Validates and compiles a policy source already read; see {@link readPolicy}.
 *
 * @example
 * const { policy } = compileSource({ name: 'inline.yaml', text })
 */
export function compileSource(source: Source): LoadedPolicy {
  const { document, problems } = validatePolicySource(source.text, { file: source.name })
  if (document === undefined) {
    const errors = problems.filter((problem) => problem.severity === 'error')
    const syntax = errors.find((problem) => /^invalid (YAML|JSON)\b/.test(problem.message))
    if (syntax !== undefined) {
      // The text is not YAML (or JSON) at all: one line, the first syntax error.
      throw inputError(`${source.name}:${syntax.line}:${syntax.column}: ${syntax.message}`)
    }
    const shown = errors.slice(0, MAX_SHOWN).map(formatProblem)
    if (errors.length > MAX_SHOWN) shown.push(`… and ${errors.length - MAX_SHOWN} more`)
    throw inputError(
      `${source.name} does not validate (${errors.length} error${errors.length === 1 ? '' : 's'}); ` +
        `see scopeguard validate ${source.name}`,
      undefined,
      shown,
    )
  }
  return {
    source,
    document,
    policy: compilePolicy(document, source.text, source.name),
    problems,
  }
}
