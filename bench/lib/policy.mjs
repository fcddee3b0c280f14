// Generates policy documents of a given number of routes, shaped like a real API's: each
// service has a list, a read, a create, an update and a delete route with their own
// requirements, plus the benchmarked `GET /items`. Client baselines and a ramp contract
// cover the clients whose tokens the benchmarks send.

const SHAPES = [
  ['GET', (s) => `/${s}/items`, 'read:items'],
  ['GET', (s) => `/${s}/items/:id`, 'read:items'],
  ['POST', (s) => `/${s}/items`, 'write:items'],
  ['PATCH', (s) => `/${s}/items/:id`, 'write:items'],
  ['DELETE', (s) => `/${s}/items/:id`, 'delete:items or admin'],
]

/**
 * A policy document with `routes` rules (GET /items included), the demo scope catalog with
 * `implies`, baselines for the demo clients and `extraClients` more, and one ramp contract
 * per benchmarked client (its current stage allows what the benchmarked route needs).
 */
export function generatePolicy({ routes, extraClients = 50 }) {
  const rules = { 'GET /items': 'read:items' }
  for (let i = 0; Object.keys(rules).length < routes; i++) {
    const [method, path, requirement] = SHAPES[i % SHAPES.length]
    rules[`${method} ${path(`svc${Math.floor(i / SHAPES.length)}`)}`] = requirement
  }
  const clients = {
    reader: { allow: ['read:items'], onOverScope: 'block' },
    'es-reader': { allow: ['read:items'], onOverScope: 'block' },
    writer: { allow: ['write:items'] },
    admin: { allow: ['admin'] },
  }
  for (let i = 0; i < extraClients; i++) clients[`client-${i}`] = { allow: ['read:items'] }
  const stages = [
    { name: 'read-only', allow: ['read:items'], mode: 'enforce' },
    { name: 'read-write', allow: ['read:items', 'write:items'], mode: 'monitor' },
  ]
  return {
    version: 1,
    defaults: { unmatched: 'deny', mode: 'enforce', unknownClients: 'alert' },
    scopes: {
      'read:items': { description: 'List and read items' },
      'write:items': { description: 'Create and update items', implies: ['read:items'] },
      'delete:items': {},
      admin: { implies: ['read:items', 'write:items', 'delete:items'] },
    },
    routes: rules,
    clients,
    contracts: {
      'reader-rollout': { client: 'reader', stage: 'read-only', stages },
      'es-reader-rollout': { client: 'es-reader', stage: 'read-only', stages },
    },
  }
}
