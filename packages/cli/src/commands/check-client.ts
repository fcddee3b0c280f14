import type { CompiledPolicy } from '@scopeguard/core'
import { formatOption, requiredOption, type Command } from '../command.js'
import { parseScopes } from '../auth-input.js'
import { EXIT } from '../errors.js'
import type { Output } from '../io.js'
import { readPolicy } from '../read-policy.js'

/** How the requested scopes fare against the client's baseline. */
type BaselineCheck =
  | {
      readonly status: 'ok' | 'failed'
      readonly allow: readonly string[]
      readonly outside: readonly string[]
    }
  /** No baseline: `none` passes (no baselines, or unknownClients: allow), `unknown` fails. */
  | { readonly status: 'none' | 'unknown'; readonly reason: string }

/** How the requested scopes fare against the current stage of the client's contract. */
type ContractCheck =
  | { readonly status: 'none' }
  | {
      readonly status: 'ok' | 'failed'
      readonly name: string
      readonly stage: string
      readonly mode: string
      readonly allow: readonly string[]
      /** Each scope outside the stage, with the first later stage that allows it. */
      readonly outside: readonly { readonly scope: string; readonly stage: string | null }[]
    }

/** `scopeguard check-client <policy> --client id --scopes "…"`: a deploy-time check. */
export const checkClient: Command = {
  name: 'check-client',
  summary: "check a client's requested scopes against its baseline and contract stage",
  arguments: [{ name: '<policy>', description: 'the policy file, or git:REF:path' }],
  options: {
    client: { type: 'string', value: 'id', description: 'the client_id (required)' },
    scopes: {
      type: 'string',
      value: 'scopes',
      description: 'the scopes it will request, space-separated (required)',
    },
    format: { type: 'string', value: 'format', description: 'text (default) or json' },
    json: { type: 'boolean', description: 'the same as --format json' },
  },
  description: [
    'Before deploying a client (or changing the scopes it asks the authorization server for),',
    'checks that every scope it will request is within its baseline (clients.<id>.allow, closed',
    'under implies) and within the current stage of its ramp contract: a scope outside either',
    'would be an over_scope or outside_contract violation on its calls, whatever the mode. A',
    'client without a baseline passes when the policy has no baselines or',
    'defaults.unknownClients is allow, and fails when it is alert or block.',
  ].join('\n'),
  exitCodes: [
    [EXIT.ok, 'every scope is within the baseline and the current stage'],
    [EXIT.failed, 'a scope is outside the baseline or the current stage, or the client is unknown'],
    [EXIT.usage, 'bad arguments, or the policy cannot be read or does not validate'],
  ],
  examples: [
    'scopeguard check-client scopeguard.policy.yaml --client billing-svc --scopes "read:items write:items"',
    'scopeguard check-client scopeguard.policy.yaml --client reader --scopes read:items --json',
  ],
  async run(args, { out, cwd }) {
    const format = formatOption(args, ['text', 'json'])
    const client = requiredOption(args, 'client')
    const scopes = parseScopes(requiredOption(args, 'scopes'))
    const { policy } = await readPolicy(args.positionals[0] ?? '', cwd)
    const baseline = checkBaseline(policy, client, scopes)
    const contract = checkContract(policy, client, scopes)
    const ok =
      (baseline.status === 'ok' || baseline.status === 'none') && contract.status !== 'failed'
    const unknown = scopes.filter((scope) => !policy.closure.has(scope))
    if (format === 'json') {
      out.line(JSON.stringify({ client, scopes, ok, unknown, baseline, contract }, null, 2))
    } else {
      printText(out, client, scopes, ok, unknown, baseline, contract)
    }
    return ok ? EXIT.ok : EXIT.failed
  },
}

function checkBaseline(
  policy: CompiledPolicy,
  clientId: string,
  scopes: readonly string[],
): BaselineCheck {
  const client = policy.clients.get(clientId)
  if (client !== undefined) {
    const outside = scopes.filter((scope) => !client.allow.has(scope))
    return { status: outside.length === 0 ? 'ok' : 'failed', allow: [...client.allow], outside }
  }
  if (policy.clients.size === 0) return { status: 'none', reason: 'the policy has no baselines' }
  const action = policy.defaults.unknownClients
  return {
    status: action === 'allow' ? 'none' : 'unknown',
    reason: `the client has no baseline (defaults.unknownClients: ${action})`,
  }
}

function checkContract(
  policy: CompiledPolicy,
  clientId: string,
  scopes: readonly string[],
): ContractCheck {
  const contract = policy.contracts.get(clientId)
  if (contract === undefined) return { status: 'none' }
  const later = (policy.document.contracts?.[contract.name]?.stages ?? []).slice(
    contract.stageIndex + 1,
  )
  const grants = (allow: readonly string[]) =>
    new Set(allow.flatMap((scope) => [...(policy.closure.get(scope) ?? [scope])]))
  const outside = scopes
    .filter((scope) => !contract.allow.has(scope))
    .map((scope) => ({
      scope,
      stage: later.find((stage) => grants(stage.allow).has(scope))?.name ?? null,
    }))
  return {
    status: outside.length === 0 ? 'ok' : 'failed',
    name: contract.name,
    stage: contract.stage,
    mode: contract.mode,
    allow: [...contract.allow],
    outside,
  }
}

function printText(
  out: Output,
  client: string,
  scopes: readonly string[],
  ok: boolean,
  unknown: readonly string[],
  baseline: BaselineCheck,
  contract: ContractCheck,
): void {
  const { style } = out
  const mark = (status: string) =>
    status === 'ok'
      ? style.green('ok    ')
      : status === 'none'
        ? style.dim('none  ')
        : style.red('failed')
  out.line(`client ${client} requesting ${scopes.join(' ') || '(no scope)'}`)
  if ('reason' in baseline) {
    out.line(`${mark(baseline.status)} baseline: ${baseline.reason}`)
  } else {
    out.line(
      `${mark(baseline.status)} baseline: may hold ${baseline.allow.join(' ')}` +
        (baseline.outside.length === 0 ? '' : `; outside it: ${baseline.outside.join(' ')}`),
    )
  }
  if (contract.status === 'none') {
    out.line(`${mark('none')} contract: no ramp contract for this client`)
  } else {
    const outside = contract.outside
      .map(
        ({ scope, stage }) =>
          `${scope} (${stage === null ? 'in no later stage' : `from stage ${stage}`})`,
      )
      .join(', ')
    out.line(
      `${mark(contract.status)} contract ${contract.name}: stage ${contract.stage} (${contract.mode}) ` +
        `allows ${contract.allow.join(' ')}${outside === '' ? '' : `; outside it: ${outside}`}`,
    )
  }
  if (unknown.length > 0) {
    out.line(
      `${style.yellow('note  ')} not in the catalog: ${unknown.join(' ')} (no rule of this API names them)`,
    )
  }
  out.line(ok ? style.green('within the policy') : style.red('not within the policy'))
}
