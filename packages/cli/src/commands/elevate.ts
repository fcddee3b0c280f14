import { elevationChange } from '@scopeguard/core'
import { formatOption, requiredOption, stringOption, type Command } from '../command.js'
import { parseScopes } from '../auth-input.js'
import { EXIT } from '../errors.js'
import { readPolicy } from '../read-policy.js'
import {
  applyToStore,
  checked,
  positiveNumber,
  REDIS_OPTIONS,
  redisTarget,
  shownUrl,
} from '../redis-connection.js'

/** The longest grant without --max-ttl: core's default maxElevationTtl (8 hours). */
const DEFAULT_MAX_TTL = 28_800

/** `scopeguard elevate --redis URL --policy file --client id --scopes "…" --ttl s …`: just-in-time access. */
export const elevate: Command = {
  name: 'elevate',
  summary: 'grant elevatable scopes to a client or subject for a while, on every instance',
  arguments: [],
  options: {
    ...REDIS_OPTIONS,
    policy: {
      type: 'string',
      value: 'policy',
      description: 'the policy of the API, or git:REF:path (required)',
    },
    client: { type: 'string', value: 'id', description: 'the client_id to elevate' },
    subject: { type: 'string', value: 'sub', description: 'or the subject (sub) to elevate' },
    scopes: {
      type: 'string',
      value: 'scopes',
      description: 'the scopes granted, space-separated; each elevatable in the policy (required)',
    },
    ttl: { type: 'string', value: 'seconds', description: 'how long the grant lasts (required)' },
    reason: { type: 'string', value: 'text', description: 'why, for the audit trail (required)' },
    'approved-by': { type: 'string', value: 'who', description: 'who approved it (required)' },
    'max-ttl': {
      type: 'string',
      value: 'seconds',
      description: `the API's maxElevationTtl (default ${DEFAULT_MAX_TTL}, 8 hours)`,
    },
    format: { type: 'string', value: 'format', description: 'text (default) or json' },
    json: { type: 'boolean', description: 'the same as --format json' },
  },
  description: [
    'Grants extra scopes to a client (--client) or a subject (--subject) until the TTL runs out,',
    'in the store the API instances share through Redis: matching tokens hold the scopes on',
    'every instance, and lose them at expiry by themselves. Checked as guard.elevate() checks',
    "it, by core's elevationChange against the policy: only scopes its catalog marks",
    'elevatable: true, a TTL that is given and at most --max-ttl, a reason and an approver.',
  ].join('\n'),
  exitCodes: [
    [EXIT.ok, 'granted'],
    [EXIT.usage, 'bad arguments, a refused elevation, an unusable policy, or Redis unreachable'],
  ],
  examples: [
    'scopeguard elevate --redis redis://10.0.3.7:6379 --policy scopeguard.policy.yaml --client ops-tool --scopes write:items --ttl 900 --reason "INC-77: repair items" --approved-by sre-lead',
  ],
  async run(args, { out, cwd }) {
    const format = formatOption(args, ['text', 'json'])
    const target = redisTarget(args)
    const { policy } = await readPolicy(requiredOption(args, 'policy'), cwd)
    const clientId = stringOption(args, 'client')
    const subject = stringOption(args, 'subject')
    const change = checked(() =>
      elevationChange(
        {
          ...(clientId === undefined ? {} : { clientId }),
          ...(subject === undefined ? {} : { subject }),
          scopes: parseScopes(stringOption(args, 'scopes') ?? ''),
          // Without --ttl, core refuses with its own words: a grant always has an expiry.
          ttl: positiveNumber(args, 'ttl') ?? Number.NaN,
          reason: stringOption(args, 'reason') ?? '',
          approvedBy: stringOption(args, 'approved-by') ?? '',
        },
        policy,
        Date.now(),
        positiveNumber(args, 'max-ttl') ?? DEFAULT_MAX_TTL,
      ),
    )
    if (change.op !== 'grant') throw new Error('elevationChange built another change')
    await applyToStore(target, change)
    const { grant } = change
    const who =
      grant.clientId === undefined ? `subject ${grant.subject ?? ''}` : `clientId ${grant.clientId}`
    const expires = new Date(grant.expiresAt).toISOString()
    if (format === 'json') {
      out.line(
        JSON.stringify(
          {
            action: 'elevated',
            grant: {
              ...grant,
              createdAt: new Date(grant.createdAt).toISOString(),
              expiresAt: expires,
            },
            redis: shownUrl(target.url),
            prefix: target.prefix,
          },
          null,
          2,
        ),
      )
    } else {
      out.line(
        `elevated ${who}: ${grant.scopes.join(' ')} until ${expires} ` +
          `(grant ${grant.id}, reason: ${grant.reason}, approved by ${grant.approvedBy})`,
      )
    }
    return EXIT.ok
  },
}
