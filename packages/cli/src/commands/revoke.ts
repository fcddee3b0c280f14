import { revocationChange, type Revocation } from '@scopeguard/core'
import { formatOption, stringOption, type Command, type ParsedArgs } from '../command.js'
import type { Output } from '../io.js'
import { EXIT, usageError } from '../errors.js'
import { TARGET_OPTIONS, targetOption } from '../lifecycle-target.js'
import {
  applyToStore,
  checked,
  positiveNumber,
  REDIS_OPTIONS,
  redisTarget,
  shownUrl,
} from '../redis-connection.js'

/** How long a revocation without --until or --ttl lasts: core's default revocationTtl. */
const DEFAULT_TTL = 86_400

/** `scopeguard revoke --redis URL (--jti | --client | --subject) --reason "…"`: cut access now. */
export const revoke: Command = {
  name: 'revoke',
  summary: 'revoke a token, a client or a subject on every instance sharing a Redis',
  arguments: [],
  options: {
    ...REDIS_OPTIONS,
    ...TARGET_OPTIONS,
    reason: { type: 'string', value: 'text', description: 'why, for the audit trail (required)' },
    until: {
      type: 'string',
      value: 'time',
      description: "when it lapses: an ISO time (for a jti, the token's exp)",
    },
    ttl: {
      type: 'string',
      value: 'seconds',
      description: `or how long it lasts (default ${DEFAULT_TTL}, a day)`,
    },
    format: { type: 'string', value: 'format', description: 'text (default) or json' },
    json: { type: 'boolean', description: 'the same as --format json' },
  },
  description: [
    'Revokes one token (--jti), every token of a client (--client) or of a subject (--subject)',
    'in the store the API instances share through Redis (@scopeguard/redis): every instance',
    'answers 401 invalid_token for them within moments, until the revocation lapses (--until,',
    '--ttl, or a day). The same as guard.revoke(), checked by the same core code; each instance',
    'logs a lifecycle event. Undo with scopeguard unrevoke.',
  ].join('\n'),
  exitCodes: [
    [EXIT.ok, 'revoked'],
    [EXIT.usage, 'bad arguments, a refused request (no reason, a past time), or Redis unreachable'],
  ],
  examples: [
    'scopeguard revoke --redis redis://10.0.3.7:6379 --client billing-svc --reason "INC-42: key leaked"',
    'scopeguard revoke --redis "$REDIS_URL" --jti tok-8f2c --reason "leaked in SEC-12" --until 2026-11-23T06:18:14Z',
  ],
  async run(args, { out }) {
    const format = formatOption(args, ['text', 'json'])
    const target = redisTarget(args)
    const now = Date.now()
    const change = checked(() =>
      revocationChange(
        {
          ...targetOption(args),
          reason: stringOption(args, 'reason') ?? '',
          until: until(args, now),
        },
        now,
        DEFAULT_TTL,
      ),
    )
    if (change.op !== 'revoke') throw new Error('revocationChange built another change')
    await applyToStore(target, change)
    print(format, out, change.revocation, target.url, target.prefix)
    return EXIT.ok
  },
}

function until(args: ParsedArgs, now: number): number | undefined {
  const iso = stringOption(args, 'until')
  const ttl = positiveNumber(args, 'ttl')
  if (iso !== undefined && ttl !== undefined) throw usageError('give --until or --ttl, not both')
  if (ttl !== undefined) return now + ttl * 1000
  if (iso === undefined) return undefined
  const time = Date.parse(iso)
  if (Number.isNaN(time))
    throw usageError(
      `--until must be an ISO time (2026-11-23T06:18:14Z), not ${JSON.stringify(iso)}`,
    )
  return time
}

function print(
  format: 'text' | 'json',
  out: Output,
  revocation: Revocation,
  url: string,
  prefix: string,
): void {
  const untilIso = new Date(revocation.until).toISOString()
  if (format === 'json') {
    out.line(
      JSON.stringify(
        {
          action: 'revoked',
          kind: revocation.kind,
          value: revocation.value,
          reason: revocation.reason,
          at: new Date(revocation.at).toISOString(),
          until: untilIso,
          redis: shownUrl(url),
          prefix,
        },
        null,
        2,
      ),
    )
    return
  }
  out.line(
    `revoked ${revocation.kind} ${revocation.value} until ${untilIso} ` +
      `(reason: ${revocation.reason}) on ${shownUrl(url)} prefix ${prefix}`,
  )
}
