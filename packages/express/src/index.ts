export { requireScopes, scopeguard, type ScopeguardMiddleware } from './scopeguard.js'
export * from '@scopeguard/core'
