export { DEMO_CLIENTS, RESOURCE_SERVER, type DemoClient, type DemoClients } from './clients.js'
export type { AuthzServerRequestError } from './errors.js'
export { generateSigningKeys, type SigningKeySet } from './keys.js'
export type { AuthzServerStats } from './request-listener.js'
export { DEMO_SCOPES, ITEMS_API, LEGACY_API } from './resources.js'
export {
  startAuthzServer,
  type AuthzServer,
  type StartAuthzServerOptions,
  type TokenOptions,
} from './start-authz-server.js'
