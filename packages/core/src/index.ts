export { createGuard, type Guard, type GuardStats } from './create-guard.js'
export type { ScopeguardOptions } from './options.js'
export { DEFAULT_ALGORITHMS } from './options.js'
export type { ScopeguardRequest } from './request.js'
export type { AuthInfo, TokenInfo } from './auth-info.js'
export type { Claims } from './claims.js'
export {
  toRequestError,
  type Allow,
  type Decision,
  type DecisionReason,
  type Deny,
} from './decision.js'
export {
  ScopeguardConfigError,
  ScopeguardError,
  ScopeguardRequestError,
  TokenInvalidError,
  VerifierUnavailableError,
  type OAuthErrorCode,
  type TokenRejection,
} from './errors.js'
export { extractToken, type Extraction, type TokenTransports } from './extract-token.js'
export {
  compileRequirement,
  missingScopes,
  satisfies,
  type RequirementInput,
  type ScopeRequirement,
} from './scopes/compile-requirement.js'
export { readScopes, type ScopeSource } from './scopes/read-scopes.js'
export { isScopeToken } from './scopes/scope-token.js'
export type { FetchLike } from './verify/fetch-json.js'
