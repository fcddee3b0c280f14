import { ScopeguardConfigError } from '../errors.js'
import { isScopeToken } from '../scopes/scope-token.js'
import type { StepUpRequirement } from './types.js'

/** A step-up requirement as written in code: `requireAuthentication({ acr, maxAge })`. */
export interface StepUpInput {
  /** The token's `acr` must be one of these authentication context classes. */
  readonly acr?: readonly string[]
  /** The token's `auth_time` must be at most this many seconds ago. */
  readonly maxAge?: number
}

/**
 * Checks and freezes a step-up requirement (RFC 9470) given in code, at start-up: `acr` a
 * non-empty list of values a challenge can carry (printable ASCII without spaces, `"` or
 * `\`), `maxAge` a whole number of seconds ≥ 0, at least one of them. The policy file's
 * `acr` / `maxAge` members are checked by its schema instead.
 *
 * @example
 * const requirement = compileStepUp({ acr: ['phr'], maxAge: 300 })
 */
export function compileStepUp(input: StepUpInput): StepUpRequirement {
  const { acr, maxAge } = (input ?? {}) as StepUpInput
  if (
    acr !== undefined &&
    (!Array.isArray(acr) ||
      acr.length === 0 ||
      !acr.every((value) => typeof value === 'string' && isScopeToken(value)))
  ) {
    throw new ScopeguardConfigError(
      'acr must be a non-empty list of authentication context classes (printable ASCII without spaces, " or \\)',
    )
  }
  if (maxAge !== undefined && !(Number.isSafeInteger(maxAge) && maxAge >= 0)) {
    throw new ScopeguardConfigError('maxAge must be a whole number of seconds ≥ 0')
  }
  if (acr === undefined && maxAge === undefined) {
    throw new ScopeguardConfigError('a step-up requirement needs acr, maxAge or both')
  }
  return Object.freeze({ acr: acr === undefined ? undefined : Object.freeze([...acr]), maxAge })
}
