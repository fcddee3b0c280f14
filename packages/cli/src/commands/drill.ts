import { runDrill, type DrillReport } from '@scopeguard/redis'
import { formatOption, requiredOption, type Command } from '../command.js'
import { CliError, EXIT, inputError, messageOf } from '../errors.js'
import {
  positiveNumber,
  REDIS_OPTIONS,
  redisTarget,
  shownUrl,
  withStore,
  within,
} from '../redis-connection.js'

/** `scopeguard drill --redis URL --client canary`: measure the real time-to-cut. */
export const drill: Command = {
  name: 'drill',
  summary: 'breach drill: revoke a canary client and time every instance enforcing it',
  arguments: [],
  options: {
    ...REDIS_OPTIONS,
    client: {
      type: 'string',
      value: 'id',
      description: 'the canary client_id, revoked then restored (required)',
    },
    discover: {
      type: 'string',
      value: 'ms',
      description: 'milliseconds to listen for instance heartbeats first (default 2500)',
    },
    timeout: {
      type: 'string',
      value: 'ms',
      description: 'milliseconds to wait for every acknowledgement (default 5000)',
    },
    format: { type: 'string', value: 'format', description: 'text (default) or json' },
    json: { type: 'boolean', description: 'the same as --format json' },
  },
  description: [
    "Runs @scopeguard/redis's runDrill: listens for the heartbeats of the live API instances",
    'sharing the Redis, revokes the canary client, waits until every instance acknowledges',
    'that it enforces the revocation, then restores the canary. Prints how long each instance',
    'took: your real time-to-cut. Use a client no real traffic depends on.',
  ].join('\n'),
  exitCodes: [
    [EXIT.ok, 'every live instance enforced the revocation'],
    [EXIT.failed, 'an instance did not acknowledge in time, or no instance was found'],
    [EXIT.usage, 'bad arguments, or Redis unreachable'],
  ],
  examples: [
    'scopeguard drill --redis redis://10.0.3.7:6379 --client canary',
    'scopeguard drill --redis "$REDIS_URL" --prefix items-api: --client canary --timeout 2000 --json',
  ],
  async run(args, { out }) {
    const format = formatOption(args, ['text', 'json'])
    const target = redisTarget(args)
    const clientId = requiredOption(args, 'client')
    const discover = positiveNumber(args, 'discover') ?? 2500
    const timeout = positiveNumber(args, 'timeout') ?? 5000
    // runDrill would wait for an unreachable Redis: check it first, within the bound.
    await withStore(target, () => Promise.resolve())
    let report: DrillReport
    try {
      report = await within(
        runDrill({ url: target.url, prefix: target.prefix, clientId, discover, timeout }),
        discover + timeout + 2 * target.timeout,
        `the drill did not finish: Redis at ${shownUrl(target.url)} stopped answering`,
      )
    } catch (error) {
      if (error instanceof CliError) throw error
      throw inputError(`the drill failed: ${messageOf(error)}`, error)
    }
    const late = report.instances.filter((instance) => instance.enforcedAfter === undefined)
    const ok = report.instances.length > 0 && late.length === 0
    if (format === 'json') {
      out.line(
        JSON.stringify(
          { ok, redis: shownUrl(target.url), prefix: target.prefix, timeout, ...report },
          null,
          2,
        ),
      )
      return ok ? EXIT.ok : EXIT.failed
    }
    const { style } = out
    out.line(
      `drill: revoked canary client ${clientId} on ${shownUrl(target.url)} prefix ${target.prefix}`,
    )
    for (const instance of report.instances) {
      out.line(
        instance.enforcedAfter === undefined
          ? `${style.red('late  ')} ${instance.name} (${instance.instance}): no acknowledgement within ${timeout} ms`
          : `${style.green('ok    ')} ${instance.name} (${instance.instance}): enforced after ${instance.enforcedAfter.toFixed(1)} ms`,
      )
    }
    out.line(`canary ${report.restored ? 'restored' : 'NOT restored: run scopeguard unrevoke'}`)
    const count = report.instances.length
    out.line(
      count === 0
        ? style.red(`no live instance found within ${discover} ms (are they on this prefix?)`)
        : ok
          ? style.green(`${count} instance${count === 1 ? '' : 's'} enforced the revocation`)
          : style.red(`${late.length} of ${count} instances did not acknowledge`),
    )
    return ok ? EXIT.ok : EXIT.failed
  },
}
