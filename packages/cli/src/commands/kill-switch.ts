import { killSwitchChange } from '@scopeguard/core'
import { formatOption, stringOption, type Command } from '../command.js'
import { EXIT, usageError } from '../errors.js'
import { applyToStore, checked, REDIS_OPTIONS, redisTarget, shownUrl } from '../redis-connection.js'

/** `scopeguard kill-switch on|off --redis URL [--except a,b] [--reason "…"]`: refuse every token. */
export const killSwitch: Command = {
  name: 'kill-switch',
  summary: 'refuse every token but the listed clients, on every instance sharing a Redis',
  arguments: [{ name: '<on|off>', description: 'turn the kill switch on or off' }],
  options: {
    ...REDIS_OPTIONS,
    except: {
      type: 'string',
      value: 'clients',
      description: 'client ids still accepted, comma-separated (on)',
    },
    reason: {
      type: 'string',
      value: 'text',
      description: 'why, for the audit trail (required for on)',
    },
    format: { type: 'string', value: 'format', description: 'text (default) or json' },
    json: { type: 'boolean', description: 'the same as --format json' },
  },
  description: [
    'Turns the global kill switch on or off in the store the API instances share through',
    'Redis. While it is on, every token gets 401 invalid_token except those of the --except',
    'clients (a break-glass client). The same as guard.killSwitch(); each instance logs a',
    'lifecycle event.',
  ].join('\n'),
  exitCodes: [
    [EXIT.ok, 'the kill switch is on (or off)'],
    [EXIT.usage, 'bad arguments, no reason to turn it on, or Redis unreachable'],
  ],
  examples: [
    'scopeguard kill-switch on --redis redis://10.0.3.7:6379 --except break-glass --reason "INC-42"',
    'scopeguard kill-switch off --redis redis://10.0.3.7:6379',
  ],
  async run(args, { out }) {
    const format = formatOption(args, ['text', 'json'])
    const state = args.positionals[0]
    if (state !== 'on' && state !== 'off')
      throw usageError(`the first argument must be on or off, not ${JSON.stringify(state)}`)
    const target = redisTarget(args)
    const except = (stringOption(args, 'except') ?? '')
      .split(',')
      .map((client) => client.trim())
      .filter((client) => client !== '')
    if (state === 'off' && except.length > 0) throw usageError('--except goes with on, not off')
    const reason = stringOption(args, 'reason')
    const change = checked(() =>
      killSwitchChange(
        state === 'on',
        { except, ...(reason === undefined ? {} : { reason }) },
        Date.now(),
      ),
    )
    if (change.op !== 'kill_switch') throw new Error('killSwitchChange built another change')
    await applyToStore(target, change)
    const { killSwitch } = change
    if (format === 'json') {
      out.line(
        JSON.stringify(
          {
            action: killSwitch.on ? 'kill_switch_on' : 'kill_switch_off',
            except: killSwitch.except,
            reason: killSwitch.reason,
            at: new Date(killSwitch.at).toISOString(),
            redis: shownUrl(target.url),
            prefix: target.prefix,
          },
          null,
          2,
        ),
      )
    } else if (killSwitch.on) {
      out.line(
        `kill switch on: every token refused` +
          (killSwitch.except.length === 0
            ? ''
            : ` except clients ${killSwitch.except.join(', ')}`) +
          ` (reason: ${killSwitch.reason}) on ${shownUrl(target.url)} prefix ${target.prefix}`,
      )
    } else {
      out.line(`kill switch off on ${shownUrl(target.url)} prefix ${target.prefix}`)
    }
    return EXIT.ok
  },
}
