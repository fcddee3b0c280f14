import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

/**
 * docs/policy.md is checked against the JSON Schema that ships in @scopeguard/core: every
 * member the schema allows must appear in the reference table, and the table must name no
 * member the schema does not have.
 */
type Schema = {
  properties?: Record<string, Schema>
  definitions?: Record<string, Schema>
  additionalProperties?: Schema | boolean
  patternProperties?: Record<string, Schema>
  items?: Schema
  oneOf?: Schema[]
  anyOf?: Schema[]
  $ref?: string
}

const schema = JSON.parse(
  readFileSync(new URL('../packages/core/policy.schema.json', import.meta.url), 'utf8'),
) as Schema
const doc = readFileSync(new URL('../docs/policy.md', import.meta.url), 'utf8')

/** Member paths as the reference writes them: `defaults.mode`, `clients.<id>.allow`, `contracts.<name>.stages[].name`. */
function memberPaths(
  node: Schema,
  path: string,
  seen: Set<string>,
  out: Set<string>,
  placeholder: string[],
): void {
  if (node.$ref !== undefined) {
    const name = node.$ref.replace('#/definitions/', '')
    if (seen.has(name)) return
    memberPaths(schema.definitions?.[name] ?? {}, path, new Set([...seen, name]), out, placeholder)
    return
  }
  for (const branch of [...(node.oneOf ?? []), ...(node.anyOf ?? [])])
    memberPaths(branch, path, seen, out, placeholder)
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const next = path === '' ? key : `${path}.${key}`
    out.add(next)
    memberPaths(child, next, seen, out, placeholder)
  }
  if (node.items !== undefined) memberPaths(node.items, `${path}[]`, seen, out, placeholder)
  const members = [
    ...(typeof node.additionalProperties === 'object' ? [node.additionalProperties] : []),
    ...Object.values(node.patternProperties ?? {}),
  ]
  for (const member of members) {
    const [name = '<key>', ...rest] = placeholder
    out.add(`${path}.${name}`)
    memberPaths(member, `${path}.${name}`, seen, out, rest)
  }
}

describe('docs/policy.md', () => {
  it('documents every member of the policy schema in its reference table', () => {
    const paths = new Set<string>()
    for (const [key, child] of Object.entries(schema.properties ?? {})) {
      if (key === '$schema') continue
      paths.add(key)
      const placeholder =
        { scopes: ['<scope>'], routes: ['<route>'], clients: ['<id>'], contracts: ['<name>'] }[
          key
        ] ?? []
      memberPaths(child, key, new Set(), paths, placeholder)
    }
    const table = new Set([...doc.matchAll(/^\| `([^`]+)`/gm)].map((m) => m[1] ?? ''))
    const conditions = [...paths].filter((p) => p.includes('.conditions[]'))
    const missing = [...paths].filter(
      (p) => !conditions.includes(p) && !table.has(p) && !table.has(p.replace(/\.(\w+)$/, '.$1')),
    )
    expect(missing).toEqual([])
    // Conditions are documented by their three forms.
    for (const member of ['claim', 'equalsParam', 'equals', 'in'])
      expect(doc).toContain(`${member}`)
    const unknown = [...table].filter(
      (member) => member.includes('.') && !paths.has(member) && !member.includes('(string'),
    )
    expect(unknown).toEqual([])
  })
})
