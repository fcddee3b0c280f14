export {
  requireAuthentication,
  requireScopes,
  scopeguard,
  type ScopeguardMiddleware,
} from './scopeguard.js'
export { listRoutes, type RegisteredRoute } from './list-routes.js'
export * from '@scopeguard/core'
