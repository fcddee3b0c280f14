import type { ElevationGrant } from '@scopeguard/core'
import { formatOption, type Command } from '../command.js'
import { EXIT } from '../errors.js'
import { REDIS_OPTIONS, redisTarget, shownUrl, withStore } from '../redis-connection.js'

/** `scopeguard elevations --redis URL`: the active just-in-time grants. */
export const elevations: Command = {
  name: 'elevations',
  summary: 'list the active elevation grants in a Redis the instances share',
  arguments: [],
  options: {
    ...REDIS_OPTIONS,
    format: { type: 'string', value: 'format', description: 'text (default) or json' },
    json: { type: 'boolean', description: 'the same as --format json' },
  },
  description: [
    'Lists the elevation grants that are active in the store the API instances share through',
    'Redis, as an instance sees them once it has connected and loaded the shared state: whom,',
    'which scopes, until when, why and who approved. The same as guard.elevations().',
  ].join('\n'),
  exitCodes: [
    [EXIT.ok, 'listed (possibly none)'],
    [EXIT.usage, 'bad arguments, or Redis unreachable'],
  ],
  examples: [
    'scopeguard elevations --redis redis://10.0.3.7:6379',
    'scopeguard elevations --redis "$REDIS_URL" --prefix items-api: --json',
  ],
  async run(args, { out }) {
    const format = formatOption(args, ['text', 'json'])
    const target = redisTarget(args)
    const grants = await withStore(target, (store) => {
      const now = Date.now()
      return Promise.resolve(
        [...store.snapshot().grants.values()]
          .filter((grant) => grant.expiresAt > now)
          .sort((a, b) => a.expiresAt - b.expiresAt),
      )
    })
    if (format === 'json') {
      out.line(
        JSON.stringify(
          {
            redis: shownUrl(target.url),
            prefix: target.prefix,
            grants: grants.map((grant) => ({
              ...grant,
              createdAt: new Date(grant.createdAt).toISOString(),
              expiresAt: new Date(grant.expiresAt).toISOString(),
            })),
          },
          null,
          2,
        ),
      )
      return EXIT.ok
    }
    if (grants.length === 0) {
      out.line(`no active elevation on ${shownUrl(target.url)} prefix ${target.prefix}`)
      return EXIT.ok
    }
    for (const grant of grants) out.line(describe(grant, Date.now()))
    out.line(
      `${grants.length} active elevation${grants.length === 1 ? '' : 's'} on ` +
        `${shownUrl(target.url)} prefix ${target.prefix}`,
    )
    return EXIT.ok
  },
}

function describe(grant: ElevationGrant, now: number): string {
  const who =
    grant.clientId === undefined ? `subject ${grant.subject ?? ''}` : `clientId ${grant.clientId}`
  const left = Math.max(0, Math.ceil((grant.expiresAt - now) / 1000))
  return (
    `${who}: ${grant.scopes.join(' ')} until ${new Date(grant.expiresAt).toISOString()} ` +
    `(${left} s left; grant ${grant.id}, reason: ${grant.reason}, approved by ${grant.approvedBy})`
  )
}
