import { revocationKey, unrevocationChange } from '@scopeguard/core'
import { formatOption, type Command } from '../command.js'
import { EXIT } from '../errors.js'
import { TARGET_OPTIONS, targetOption } from '../lifecycle-target.js'
import { checked, REDIS_OPTIONS, redisTarget, shownUrl, withStore } from '../redis-connection.js'

/** `scopeguard unrevoke --redis URL (--jti | --client | --subject)`: give access back. */
export const unrevoke: Command = {
  name: 'unrevoke',
  summary: 'lift a revocation on every instance sharing a Redis',
  arguments: [],
  options: {
    ...REDIS_OPTIONS,
    ...TARGET_OPTIONS,
    format: { type: 'string', value: 'format', description: 'text (default) or json' },
    json: { type: 'boolean', description: 'the same as --format json' },
  },
  description: [
    'Lifts the revocation of a token (--jti), a client (--client) or a subject (--subject) in',
    'the store the API instances share through Redis: their tokens are accepted again at once.',
    'The same as guard.unrevoke(). Says whether it was revoked.',
  ].join('\n'),
  exitCodes: [
    [EXIT.ok, 'no longer revoked'],
    [EXIT.usage, 'bad arguments (not exactly one target), or Redis unreachable'],
  ],
  examples: [
    'scopeguard unrevoke --redis redis://10.0.3.7:6379 --client billing-svc',
    'scopeguard unrevoke --redis "$REDIS_URL" --jti tok-8f2c --json',
  ],
  async run(args, { out }) {
    const format = formatOption(args, ['text', 'json'])
    const target = redisTarget(args)
    const change = checked(() => unrevocationChange(targetOption(args)))
    if (change.op !== 'unrevoke') throw new Error('unrevocationChange built another change')
    const wasRevoked = await withStore(target, async (store) => {
      const revoked = store.snapshot().revocations.has(revocationKey(change.kind, change.value))
      await store.apply(change)
      return revoked
    })
    if (format === 'json') {
      out.line(
        JSON.stringify(
          {
            action: 'unrevoked',
            kind: change.kind,
            value: change.value,
            wasRevoked,
            redis: shownUrl(target.url),
            prefix: target.prefix,
          },
          null,
          2,
        ),
      )
    } else {
      out.line(
        `unrevoked ${change.kind} ${change.value}` +
          (wasRevoked ? '' : ' (it was not revoked)') +
          ` on ${shownUrl(target.url)} prefix ${target.prefix}`,
      )
    }
    return EXIT.ok
  },
}
