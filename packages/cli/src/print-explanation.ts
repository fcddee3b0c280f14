import type { Explanation, Verdict } from './explain-request.js'
import type { Output } from './io.js'

/**
 * Prints an explanation as aligned lines: the request and token, one line per step with its
 * verdict, and the decision with its status and `WWW-Authenticate` header. `indent` prefixes
 * every line (a failing test case prints its explanation under its name).
 *
 * @example
 * printExplanation(out, explainRequest(policy, match, auth, 'api', request), { indent: '' })
 */
export function printExplanation(
  out: Output,
  explanation: Explanation,
  options: { readonly indent: string; readonly policy?: string },
): void {
  const { style } = out
  const { indent } = options
  const label = (text: string) => style.bold(text.padEnd(12))
  const line = (name: string, text: string) => out.line(`${indent}${label(name)}${text}`)
  line('request', `${explanation.request.method} ${explanation.request.path}`)
  const token = explanation.token
  line(
    'token',
    token === null
      ? 'none'
      : [
          `client ${token.clientId ?? '(none)'}`,
          `scopes ${token.scopes.length === 0 ? '(none)' : token.scopes.join(' ')}`,
          ...extraClaims(token.claims),
        ].join('; '),
  )
  if (options.policy !== undefined) line('policy', options.policy)
  for (const step of explanation.steps) {
    line(step.step, `${paint(out, step.verdict)} ${step.detail}`)
  }
  const { decision } = explanation
  const verdict = decision.allowed ? style.green('allowed') : style.red('denied')
  const why = decision.allowed
    ? `${decision.status}`
    : `${decision.status} ${decision.reason} (${decision.code ?? ''})`
  const recorded = decision.violations
    .map((v) => `${v.type}${v.enforced ? '' : ' (recorded)'}`)
    .join(', ')
  line(
    'decision',
    `${verdict} ${why}, mode ${decision.mode}${recorded === '' ? '' : `; violations: ${recorded}`}`,
  )
  for (const [name, value] of Object.entries(decision.headers)) {
    line('', `${headerName(name)}: ${value}`)
  }
}

function paint(out: Output, verdict: Verdict): string {
  const text = verdict.padEnd(6)
  switch (verdict) {
    case 'pass':
      return out.style.green(text)
    case 'fail':
      return out.style.red(text)
    case 'record':
      return out.style.yellow(text)
    default:
      return out.style.dim(text)
  }
}

/** The claims given beyond `scope` and `client_id`, which the token line already shows. */
function extraClaims(claims: Readonly<Record<string, unknown>>): string[] {
  const extra = Object.fromEntries(
    Object.entries(claims).filter(([key]) => key !== 'scope' && key !== 'client_id'),
  )
  return Object.keys(extra).length === 0 ? [] : [`claims ${JSON.stringify(extra)}`]
}

function headerName(name: string): string {
  return name === 'www-authenticate'
    ? 'WWW-Authenticate'
    : name.replace(
        /(^|-)([a-z])/g,
        (_, dash: string, letter: string) => dash + letter.toUpperCase(),
      )
}
