import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { ScopeguardEvent } from '@scopeguard/core'

// ajv is a dependency of @scopeguard/core, not of the workspace root: load core's copy.
interface AjvInstance {
  compile(schema: object): ((data: unknown) => boolean) & { errors?: unknown }
  errorsText(errors: unknown): string
}
const requireFromCore = createRequire(new URL('../../packages/core/package.json', import.meta.url))
const Ajv = (
  requireFromCore('ajv') as { default: new (options: Record<string, unknown>) => AjvInstance }
).default
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true })
const validate = ajv.compile(
  JSON.parse(
    readFileSync(new URL('../../docs/events.schema.json', import.meta.url), 'utf8'),
  ) as object,
)

/**
 * What docs/events.schema.json says of an event as sinks ship it (JSON, undefined members
 * gone): `valid`, or ajv's messages.
 */
export function schemaVerdict(event: ScopeguardEvent): string {
  const json = JSON.parse(JSON.stringify(event)) as unknown
  return validate(json) ? 'valid' : ajv.errorsText(validate.errors)
}
