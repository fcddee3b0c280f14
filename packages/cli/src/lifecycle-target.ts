import type { Target } from '@scopeguard/core'
import { stringOption, type OptionSpec, type ParsedArgs } from './command.js'

/** `--jti`, `--client`, `--subject`: whom a revocation names (exactly one). */
export const TARGET_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  jti: {
    type: 'string',
    value: 'id',
    description: "one token, by its jti (the decision's tokenId)",
  },
  client: { type: 'string', value: 'id', description: 'every token of a client_id (or azp)' },
  subject: { type: 'string', value: 'sub', description: 'every token of a subject (sub)' },
}

/**
 * The target of a revocation or elevation as core's lifecycle helpers take it; core checks
 * that exactly one is given.
 *
 * @example
 * targetOption(args) // => { clientId: 'reader' } for --client reader
 */
export function targetOption(args: ParsedArgs): Target {
  const jti = stringOption(args, 'jti')
  const clientId = stringOption(args, 'client')
  const subject = stringOption(args, 'subject')
  return {
    ...(jti === undefined ? {} : { jti }),
    ...(clientId === undefined ? {} : { clientId }),
    ...(subject === undefined ? {} : { subject }),
  }
}
