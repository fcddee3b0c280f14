export { createGuard } from './create-guard.js'
export {
  guardControls,
  type Guard,
  type GuardControls,
  type GuardStats,
  type SharedInventory,
  type UnroutedJudgment,
} from './guard.js'
export type { DpopOptions, ResourceMetadataOptions, ScopeguardOptions } from './options.js'
export {
  certificateThumbprint,
  peerCertificate,
  readCertificateHeader,
} from './client-certificate.js'
export type {
  MetadataResponse,
  ProtectedResourceMetadata,
  ResourceMetadataEndpoint,
} from './resource-metadata.js'
export { DEFAULT_ALGORITHMS, DEFAULT_DPOP_ALGORITHMS } from './options.js'
export type { ScopeguardRequest } from './request.js'
export type { AuthInfo, TokenBinding, TokenInfo } from './auth-info.js'
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
  type DpopRejection,
  type OAuthErrorCode,
  type TokenRejection,
} from './errors.js'
export {
  extractToken,
  readDpopHeader,
  type Extraction,
  type TokenTransports,
} from './extract-token.js'
export { createReplayCache, type ReplayCache } from './dpop/replay-cache.js'
export { createNonceSource, type CurrentNonce, type NonceSource } from './dpop/nonce.js'
export {
  normalizeHtu,
  verifyDpopProof,
  type CheckedProof,
  type DpopPolicy,
  type ProofRequest,
} from './dpop/verify-proof.js'
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
export type { Violation, ViolationType } from './decision.js'
export type { DecisionEvent, PolicyEvent, ScopeguardEvent } from './events.js'
export type { DecisionContext } from './record-decision.js'
export { compilePolicy, policyVersion } from './policy/compile-policy.js'
export { compileStepUp, type StepUpInput } from './policy/compile-step-up.js'
export {
  checkStepUp,
  decideRoute,
  decideUnrouted,
  expandScopes,
  findRule,
  type DispatchedRoute,
} from './policy/decide-route.js'
export { diffPolicies, type PolicyChange } from './policy/diff-policy.js'
export { createTemplateMatcher, type TemplateMatcher } from './policy/match-template.js'
export {
  createPolicySource,
  type PolicyOption,
  type PolicySource,
  type ReloadResult,
} from './policy/policy-source.js'
export {
  formatProblem,
  PolicyValidationError,
  type CompiledClient,
  type CompiledContract,
  type CompiledPolicy,
  type CompiledRoute,
  type MatchedRule,
  type Mode,
  type OverScopeAction,
  type PolicyDocument,
  type PolicyProblem,
  type RouteCondition,
  type RouteRuleObject,
  type DpopMode,
  type StepUpRequirement,
  type UnknownClientAction,
} from './policy/types.js'
export { checkPolicy, type CheckPolicyOptions } from './policy/check-policy.js'
export {
  loadPolicyDocument,
  validatePolicySource,
  type PolicyValidation,
} from './policy/load-policy.js'
export {
  parsePolicySource,
  type Locate,
  type ParsePolicyOptions,
  type ParsedPolicySource,
  type SourcePosition,
} from './policy/parse-policy.js'
export type { FirstUseEvent, InvalidTokenViolation, ViolationEvent } from './events.js'
export type { AuditOptions } from './audit/create-auditor.js'
export type { DispatcherOptions, DispatcherStats } from './audit/dispatcher.js'
export type { ClientUsage, InventoryLimits, UsageCount, UsageReport } from './audit/inventory.js'
export type { Sink } from './audit/sink.js'
export { consoleSink } from './audit/sinks/console-sink.js'
export { toLogLine } from './audit/log-line.js'
export { fileSink } from './audit/sinks/file-sink.js'
export { memorySink, type MemorySink } from './audit/sinks/memory-sink.js'
export { otelSink } from './audit/sinks/otel-sink.js'
export { webhookSink, type WebhookSinkOptions } from './audit/sinks/webhook-sink.js'
export { usedScopes } from './policy/decide-route.js'
export type { LifecycleEvent, StoreEvent } from './events.js'
export { memoryStore } from './store/memory-store.js'
export { applyChange, buildSnapshot } from './store/snapshot.js'
export {
  revocationKey,
  type ElevationGrant,
  type KillSwitch,
  type Revocation,
  type RevocationKind,
  type Store,
  type StoreChange,
  type StoreSnapshot,
  type StoreStatus,
  type SharedUsage,
  type UsageKind,
  addUsage,
} from './store/types.js'
export {
  elevationChange,
  killSwitchChange,
  LifecycleError,
  revocationChange,
  unrevocationChange,
  type ElevateRequest,
  type RevokeRequest,
  type Target,
} from './store/lifecycle.js'
export {
  createChallenges,
  type ChallengeSettings,
  type Challenges,
  type DenialResponse,
  type DpopChallenges,
} from './responses.js'
