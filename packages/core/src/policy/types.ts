import { ScopeguardConfigError } from '../errors.js'
import type { ScopeRequirement } from '../scopes/compile-requirement.js'

/** `enforce` denies what a rule forbids; `monitor` lets it through and records what would have been denied. */
export type Mode = 'enforce' | 'monitor'

/** What an over-scoped token (scopes beyond its client's baseline) gets. */
export type OverScopeAction = 'alert' | 'block'

/** What a client missing from `clients` gets, when `clients` is not empty. */
export type UnknownClientAction = 'allow' | 'alert' | 'block'

/** A condition on a route: a claim of the token must equal a route parameter or a value. */
export type RouteCondition =
  | { readonly claim: string; readonly equalsParam: string }
  | { readonly claim: string; readonly equals: string | number | boolean }
  | { readonly claim: string; readonly in: readonly (string | number | boolean)[] }

/** A route rule in object form. */
export interface RouteRuleObject {
  /** The scope requirement (expression or all-of array). */
  readonly require?: string | readonly string[]
  /** No token needed. Cannot be combined with `require` or `conditions`. */
  readonly public?: boolean
  readonly mode?: Mode
  readonly conditions?: readonly RouteCondition[]
  /** DPoP (RFC 9449) on this route, instead of the guard's `dpop.mode`. */
  readonly dpop?: DpopMode
  /** Step-up (RFC 9470): the token's `acr` must be one of these authentication context classes. */
  readonly acr?: readonly string[]
  /** Step-up (RFC 9470): the token's `auth_time` must be at most this many seconds ago. */
  readonly maxAge?: number
}

/**
 * What a route requires of the user's authentication (RFC 9470 step-up): an authentication
 * context class (`acr`) among some, and an authentication no older than `maxAge` seconds
 * (`auth_time`). Elevation grants never satisfy it: they add scopes, not authentication.
 */
export interface StepUpRequirement {
  readonly acr: readonly string[] | undefined
  readonly maxAge: number | undefined
}

/** Whether a route takes DPoP-bound requests: only (`required`), too (`allowed`), or not (`disabled`). */
export type DpopMode = 'required' | 'allowed' | 'disabled'

/** The policy document as written (YAML or JSON), after schema validation. */
export interface PolicyDocument {
  readonly version: 1
  readonly defaults?: {
    readonly unmatched?: 'deny' | 'allow'
    readonly mode?: Mode
    readonly onOverScope?: OverScopeAction
    readonly unknownClients?: UnknownClientAction
  }
  /** The catalog: every scope the API knows. */
  readonly scopes: Readonly<
    Record<
      string,
      {
        readonly description?: string
        readonly implies?: readonly string[]
        readonly elevatable?: boolean
      }
    >
  >
  /** `"METHOD /path"` (METHOD may be `ALL`) → requirement or rule object. */
  readonly routes: Readonly<Record<string, string | readonly string[] | RouteRuleObject>>
  /** Baselines: the scopes each client (by `client_id`) may hold. */
  readonly clients?: Readonly<
    Record<
      string,
      {
        readonly allow: readonly string[]
        readonly onOverScope?: OverScopeAction
        readonly mode?: Mode
      }
    >
  >
  /** Ramp contracts: staged growth of one client's access. */
  readonly contracts?: Readonly<
    Record<
      string,
      {
        readonly client: string
        readonly stage: string
        readonly stages: readonly {
          readonly name: string
          readonly allow: readonly string[]
          readonly mode?: Mode
        }[]
      }
    >
  >
}

/** One problem found in a policy document, with where it is. */
export interface PolicyProblem {
  readonly severity: 'error' | 'warning'
  /** The file, when the policy came from one. */
  readonly file: string | undefined
  /** 1-based line and column of the offending value (or key). */
  readonly line: number
  readonly column: number
  /** JSON pointer (RFC 6901) of the offending member, e.g. `/routes/GET ~1items`. */
  readonly pointer: string
  /** What is wrong and what to change. */
  readonly message: string
}

/**
 * A policy that does not validate. `problems` lists every error (and warning) at once,
 * sorted by position; the message shows them as `file:line:column pointer message`.
 */
export class PolicyValidationError extends ScopeguardConfigError {
  readonly problems: readonly PolicyProblem[]
  constructor(problems: readonly PolicyProblem[]) {
    const errors = problems.filter((p) => p.severity === 'error')
    super(
      `the policy is invalid (${errors.length} problem${errors.length === 1 ? '' : 's'}):\n` +
        errors.map((p) => `  ${formatProblem(p)}`).join('\n'),
    )
    this.problems = problems
  }
}

/** `file:line:column pointer: message`, as editors and CI annotations read it. */
export function formatProblem(problem: PolicyProblem): string {
  return `${problem.file ?? '<policy>'}:${problem.line}:${problem.column} ${problem.pointer || '/'}: ${problem.message}`
}

/** A compiled route rule. */
export interface CompiledRoute {
  /** Upper-case method, or `ALL`. */
  readonly method: string
  /** The path template, exactly as in the policy and the router. */
  readonly path: string
  /** `"METHOD /path"`, the rule's key. */
  readonly key: string
  readonly public: boolean
  readonly requirement: ScopeRequirement | undefined
  readonly mode: Mode
  readonly conditions: readonly RouteCondition[]
  /** The rule's own DPoP mode; undefined: the guard's `dpop.mode`. */
  readonly dpop: DpopMode | undefined
  /** The route's step-up requirement (`acr`, `maxAge`), if it has one. */
  readonly stepUp: StepUpRequirement | undefined
}

/** A rule whose template matches a request path, with the path's parameters. */
export interface MatchedRule {
  readonly rule: CompiledRoute
  readonly params: Readonly<Record<string, string | string[]>>
}

/** A compiled client baseline. */
export interface CompiledClient {
  readonly clientId: string
  readonly allow: ReadonlySet<string>
  readonly onOverScope: OverScopeAction
  readonly mode: Mode
}

/** A compiled ramp contract at its current stage. */
export interface CompiledContract {
  readonly name: string
  readonly clientId: string
  readonly stage: string
  /** Index of the current stage in the ordered list. */
  readonly stageIndex: number
  readonly allow: ReadonlySet<string>
  readonly mode: Mode
}

/** An immutable, compiled policy: what the request path evaluates. */
export interface CompiledPolicy {
  /** Content hash of the source (`sha256:` + 16 hex digits): the policy version in every decision. */
  readonly version: string
  /**
   * Whether a request path could be dispatched to a `public` rule (its template, any case,
   * with or without a trailing slash). Only such requests may pass the guard without a token.
   */
  readonly isPublicPath: (method: string, path: string) => boolean
  /**
   * The rules that judge a request no route dispatches (a handler outside the routers): every
   * rule whose method fits and whose template matches the path (any case, with or without a
   * trailing slash), only the literal ones when a literal template matches.
   */
  readonly matchRules: (method: string, path: string) => readonly MatchedRule[]
  readonly file: string | undefined
  readonly document: PolicyDocument
  readonly defaults: {
    readonly unmatched: 'deny' | 'allow'
    readonly mode: Mode
    readonly onOverScope: OverScopeAction
    readonly unknownClients: UnknownClientAction
  }
  /** Every scope of the catalog with its closure under `implies` (itself included). */
  readonly closure: ReadonlyMap<string, ReadonlySet<string>>
  /** Rules by key `"METHOD /path"`. */
  readonly routes: ReadonlyMap<string, CompiledRoute>
  readonly clients: ReadonlyMap<string, CompiledClient>
  /** Contracts by client id. */
  readonly contracts: ReadonlyMap<string, CompiledContract>
  /** Whether a route rule lets bearer tokens through (`dpop: allowed | disabled`), which a guard-wide `required` then leaves to the rules. */
  readonly relaxesDpop: boolean
}
