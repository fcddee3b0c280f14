/**
 * Loads the policy case table (policy-cases.yaml): named policies, and cases of one request
 * each with the status, challenge and decision record the API must produce. The Express and
 * the Koa suites run every case (test/integration/policy-cases.test.ts).
 */
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import type { PolicyDocument, ViolationType } from '@scopeguard/core'

/** A policy of a case: a name from `policies`, or a name with members replaced or merged. */
export type CasePolicy =
  | string
  | {
      /** The named policy this one starts from. */
      readonly base: string
      /** Members merged one level deep into the base's (`routes`, `clients`, `defaults`, …). */
      readonly merge?: Readonly<Record<string, Readonly<Record<string, unknown>>>>
    }

export interface CaseToken {
  readonly client?: string
  readonly scopes: readonly string[]
  readonly claims?: Readonly<Record<string, unknown>>
}

/** What one decision record must say (the members given are compared; the rest are not). */
export interface ExpectedDecision {
  readonly allowed: boolean
  readonly reason?: string
  /** The request method the record names. */
  readonly method?: string
  readonly mode?: 'enforce' | 'monitor'
  /** The route template the record names (null: a record made before routing). */
  readonly route?: string | null
  readonly required?: string | null
  /** The violation types, in order. */
  readonly violations: readonly ViolationType[]
}

export interface PolicyCase {
  readonly name: string
  readonly policy: CasePolicy
  readonly request: {
    readonly method?: string
    readonly path: string
    /** null: no Authorization header. */
    readonly token: CaseToken | null
  }
  readonly expect: {
    readonly status: number
    /** The exact WWW-Authenticate value, or null when there must be none. */
    readonly challenge: string | null
    /** The handler that ran (`METHOD /template`), or null when none may run. */
    readonly handler?: string | null
    /** Every decision record of the request, in order: the route rule's first. */
    readonly decisions: readonly ExpectedDecision[]
  }
}

export interface PolicyCaseTable {
  readonly policies: Readonly<Record<string, PolicyDocument>>
  readonly cases: readonly PolicyCase[]
}

const TABLE = new URL('./policy-cases.yaml', import.meta.url)

/** Reads and checks the table; a malformed case fails the suite at load time. */
export function loadPolicyCases(): PolicyCaseTable {
  const table = parse(readFileSync(TABLE, 'utf8')) as PolicyCaseTable
  const names = new Set<string>()
  for (const c of table.cases) {
    if (names.has(c.name)) throw new Error(`policy-cases.yaml: case "${c.name}" is defined twice`)
    names.add(c.name)
    const base = typeof c.policy === 'string' ? c.policy : c.policy.base
    if (table.policies[base] === undefined) {
      throw new Error(`policy-cases.yaml: case "${c.name}" names an unknown policy "${base}"`)
    }
    if (!Array.isArray(c.expect?.decisions)) {
      throw new Error(`policy-cases.yaml: case "${c.name}" has no expect.decisions list`)
    }
  }
  return table
}

/** The policy document a case runs with. */
export function policyOf(table: PolicyCaseTable, policy: CasePolicy): PolicyDocument {
  if (typeof policy === 'string') return table.policies[policy] as PolicyDocument
  const base = table.policies[policy.base] as PolicyDocument
  const merged: Record<string, unknown> = { ...base }
  for (const [member, value] of Object.entries(policy.merge ?? {})) {
    const current = merged[member]
    merged[member] =
      typeof current === 'object' && current !== null ? { ...current, ...value } : value
  }
  return merged as unknown as PolicyDocument
}
