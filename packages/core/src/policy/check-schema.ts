import { readFileSync } from 'node:fs'
import { Ajv, type AnySchemaObject, type ErrorObject, type ValidateFunction } from 'ajv'
import { didYouMean, isRecord, listWords, type Reporter } from './check-report.js'
import { childPointer } from './source-pointer.js'

/** Where the published schema lives: the package root, both from `src/policy` and `dist/policy`. */
const SCHEMA_URL = new URL('../../policy.schema.json', import.meta.url)
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'ALL']

let validator: ValidateFunction | undefined

/** The policy JSON Schema, read and compiled on first use, once per process. */
function compiledSchema(): ValidateFunction {
  validator ??= new Ajv({ allErrors: true, verbose: true, allowUnionTypes: true }).compile(
    JSON.parse(readFileSync(SCHEMA_URL, 'utf8')) as AnySchemaObject,
  )
  return validator
}

/**
 * Validates a parsed policy against `policy.schema.json` and reports every violation, each
 * rewritten to say what to change (`unknown member "mdoe" (did you mean "mode"?) …`).
 */
export function checkSchema(document: unknown, report: Reporter): void {
  const validate = compiledSchema()
  if (validate(document)) return
  for (const error of validate.errors ?? []) {
    // A condition's `oneOf` is explained once, by its own error, not branch by branch.
    if (error.schemaPath.includes('/oneOf/')) continue
    describeError(error, report)
  }
}

function describeError(error: ErrorObject, report: Reporter): void {
  const pointer = error.instancePath
  const params = error.params as Record<string, unknown>
  const parent: AnySchemaObject = error.parentSchema ?? {}
  const data = error.data
  switch (error.keyword) {
    case 'additionalProperties': {
      const name = String(params.additionalProperty)
      report.error(childPointer(pointer, name), unknownMember(pointer, name, parent), 'key')
      return
    }
    case 'required': {
      const name = String(params.missingProperty)
      const property: unknown = (parent.properties as Record<string, unknown> | undefined)?.[name]
      const title =
        isRecord(property) && typeof property.title === 'string' ? property.title.toLowerCase() : ''
      report.error(
        childPointer(pointer, name),
        name === 'version'
          ? 'missing "version": add "version: 1" at the top'
          : `missing required member ${JSON.stringify(name)}${title && title !== name.toLowerCase() ? ` (${title})` : ''}: add it`,
      )
      return
    }
    case 'type':
      report.error(
        pointer,
        `${expectedType(pointer, parent, String(params.type))} (found ${describe(data)})`,
      )
      return
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map(String)
      const found = JSON.stringify(data)
      const hint = typeof data === 'string' ? didYouMean(data, allowed) : ''
      report.error(pointer, `must be ${listWords(allowed, 'or')} (found ${found})${hint}`)
      return
    }
    case 'const': // only `version` has one
      report.error(pointer, `the only policy format version is 1 (found ${JSON.stringify(data)})`)
      return
    case 'minItems':
      report.error(pointer, emptyList(parent))
      return
    case 'minLength':
      report.error(pointer, 'must not be empty')
      return
    case 'pattern': // only scope names have one
      report.error(
        pointer,
        `${JSON.stringify(data)} is not a valid scope token (RFC 6749 §3.3): ` +
          'use printable ASCII without spaces, double quotes or backslashes',
      )
      return
    case 'oneOf': {
      const given = ['equalsParam', 'equals', 'in'].filter((name) => isRecord(data) && name in data)
      report.error(
        pointer,
        given.length === 0
          ? 'a condition compares its claim with something: add one of "equalsParam", "equals" or "in"'
          : `a condition takes one of "equalsParam", "equals" or "in", not ${listWords(given)}: ` +
              'split it into one condition each',
      )
      return
    }
    default:
      report.error(pointer, error.message ?? `violates "${error.keyword}"`)
  }
}

function unknownMember(pointer: string, name: string, parent: AnySchemaObject): string {
  if (pointer === '/routes') return routeKeyProblem(name)
  if (pointer === '/scopes') {
    return (
      `scope name ${JSON.stringify(name)} is not a valid scope token (RFC 6749 §3.3): ` +
      'use printable ASCII without spaces, double quotes or backslashes'
    )
  }
  const allowed = Object.keys(
    (parent.properties as Record<string, unknown> | undefined) ?? {},
  ).filter((key) => key !== '$schema')
  return (
    `unknown member ${JSON.stringify(name)}${didYouMean(name, allowed)}: ` +
    `remove it (allowed: ${allowed.join(', ')})`
  )
}

/** Why a key of `routes` is not `"METHOD /path"`, and how to write it. */
function routeKeyProblem(key: string): string {
  const shown = JSON.stringify(key)
  const match = /^(\S+)(\s+)(.*)$/s.exec(key)
  const [, method = '', space = '', path = ''] = match ?? []
  if (match === null || method.startsWith('/')) {
    const example = key.startsWith('/') ? `"GET ${key}"` : '"GET /items"'
    return `route key ${shown} must be "METHOD /path", e.g. ${example}`
  }
  if (!METHODS.includes(method.toUpperCase())) {
    return `route key ${shown} has an unknown method ${JSON.stringify(method)}: use ${listWords(METHODS, 'or')}`
  }
  if (method !== method.toUpperCase()) {
    return `route key ${shown}: write the method in upper case, "${method.toUpperCase()}${space}${path}"`
  }
  if (space !== ' ') {
    return `route key ${shown}: separate the method from the path with one space, "${method} ${path}"`
  }
  return `route key ${shown}: the path must start with "/", "${method} /${path}"`
}

function expectedType(pointer: string, parent: AnySchemaObject, types: string): string {
  if (pointer === '') return 'the policy must be a mapping with "version", "scopes" and "routes"'
  if (parent.title === 'Route rule') {
    return 'must be a scope requirement ("read:items or admin"), a list of scopes, or a rule object (require, public, mode, conditions)'
  }
  if (parent.title === 'Requirement') {
    return 'must be a scope requirement ("read:items or admin") or a list of scopes'
  }
  const words: Record<string, string> = {
    string: 'a string',
    array: 'a list',
    object: 'a mapping',
    number: 'a number',
    integer: 'an integer',
    boolean: 'true or false',
    null: 'null',
  }
  const names = types.split(',').map((type) => words[type] ?? type)
  return `must be ${names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names.at(-1) ?? ''}` : names.join('')}`
}

function emptyList(parent: AnySchemaObject): string {
  switch (parent.title) {
    case 'Stages':
      return 'a contract needs at least one stage'
    case 'Conditions':
      return 'list at least one condition, or remove "conditions"'
    case 'One of values':
      return 'list at least one value'
    default:
      return 'list at least one scope'
  }
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a mapping'
  return `${typeof value === 'string' ? 'the string' : `the ${typeof value}`} ${JSON.stringify(value)}`
}
