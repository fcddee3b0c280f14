import {
  didYouMean,
  entriesOf,
  isRecord,
  listWords,
  stringsOf,
  type Reporter,
} from './check-report.js'
import { checkScopeReference } from './check-scopes.js'
import { toPointer } from './source-pointer.js'

/** Every scope of a client baseline is in the catalog. */
export function checkClients(
  clients: unknown,
  catalog: ReadonlySet<string>,
  report: Reporter,
): void {
  for (const [clientId, client] of entriesOf(clients)) {
    if (!isRecord(client)) continue
    for (const [index, scope] of stringsOf(client.allow)) {
      checkScopeReference(scope, catalog, toPointer('clients', clientId, 'allow', index), report)
    }
  }
}

/**
 * Checks ramp contracts: stages name scopes of the catalog and have distinct names, the
 * current stage is one of them, each stage allows at least what the one before it allows,
 * a client has at most one contract, and (a warning) the client's baseline, if any, allows
 * what the last stage allows.
 */
export function checkContracts(
  contracts: unknown,
  clients: unknown,
  catalog: ReadonlySet<string>,
  report: Reporter,
): void {
  const contractOf = new Map<string, string>()
  for (const [name, contract] of entriesOf(contracts)) {
    if (!isRecord(contract)) continue
    const pointer = toPointer('contracts', name)
    const stages = Array.isArray(contract.stages) ? (contract.stages as unknown[]) : []
    const names = checkStages(stages, pointer, catalog, report)
    if (typeof contract.stage === 'string' && names.length > 0 && !names.includes(contract.stage)) {
      report.error(
        `${pointer}/stage`,
        `${JSON.stringify(contract.stage)} is not a stage of this contract` +
          `${didYouMean(contract.stage, names)}: use ${listWords([...new Set(names)], 'or')}`,
      )
    }
    if (typeof contract.client !== 'string') continue
    const other = contractOf.get(contract.client)
    if (other !== undefined) {
      report.error(
        `${pointer}/client`,
        `client ${JSON.stringify(contract.client)} already has the contract ` +
          `${JSON.stringify(other)}: a client has at most one contract; merge the two`,
      )
    } else {
      contractOf.set(contract.client, name)
    }
    checkBaseline(contract.client, stages, clients, pointer, report)
  }
}

/** Checks the stages of one contract; returns their names. */
function checkStages(
  stages: readonly unknown[],
  pointer: string,
  catalog: ReadonlySet<string>,
  report: Reporter,
): string[] {
  const names: string[] = []
  let previous: { name: string; allow: ReadonlySet<string> } | undefined
  stages.forEach((stage, index) => {
    if (!isRecord(stage)) return
    const stagePointer = `${pointer}${toPointer('stages', index)}`
    const name = typeof stage.name === 'string' ? stage.name : `#${index + 1}`
    if (typeof stage.name === 'string') {
      if (names.includes(stage.name)) {
        report.error(
          `${stagePointer}/name`,
          `stage ${JSON.stringify(stage.name)} is defined twice in this contract: give each stage its own name`,
        )
      }
      names.push(stage.name)
    }
    const allow = stringsOf(stage.allow)
    for (const [i, scope] of allow) {
      checkScopeReference(scope, catalog, `${stagePointer}${toPointer('allow', i)}`, report)
    }
    if (!Array.isArray(stage.allow)) return
    const scopes = new Set(allow.map(([, scope]) => scope))
    const dropped = previous === undefined ? [] : [...previous.allow].filter((s) => !scopes.has(s))
    if (previous !== undefined && dropped.length > 0) {
      report.error(
        `${stagePointer}/allow`,
        `stage ${JSON.stringify(name)} drops ${listWords(dropped)}, which the stage before it ` +
          `(${JSON.stringify(previous.name)}) allows: each later stage may only widen; add ` +
          `${dropped.length === 1 ? 'it' : 'them'} back`,
      )
    }
    previous = { name, allow: scopes }
  })
  return names
}

/** Warns when the client's baseline does not allow what the contract's last stage allows. */
function checkBaseline(
  clientId: string,
  stages: readonly unknown[],
  clients: unknown,
  pointer: string,
  report: Reporter,
): void {
  const baseline =
    isRecord(clients) && Object.hasOwn(clients, clientId) ? clients[clientId] : undefined
  const last = stages.at(-1)
  if (!isRecord(baseline) || !Array.isArray(baseline.allow) || !isRecord(last)) return
  const allowed = new Set(stringsOf(baseline.allow).map(([, scope]) => scope))
  const missing = stringsOf(last.allow)
    .map(([, scope]) => scope)
    .filter((scope) => !allowed.has(scope))
  if (missing.length === 0) return
  report.warning(
    `${pointer}${toPointer('stages', stages.length - 1, 'allow')}`,
    `the baseline of client ${JSON.stringify(clientId)} does not allow ${listWords(missing)}, ` +
      'which the last stage of this contract allows: tokens carrying ' +
      `${missing.length === 1 ? 'it' : 'them'} will be over-scoped once the contract gets ` +
      `there; add ${missing.length === 1 ? 'it' : 'them'} to ${toPointer('clients', clientId, 'allow')}`,
  )
}
