import { formatOption, stringOption, type Command } from '../command.js'
import { parseClaims, parseScopes, toAuthInfo } from '../auth-input.js'
import { EXIT, usageError } from '../errors.js'
import { explainRequest } from '../explain-request.js'
import { printExplanation } from '../print-explanation.js'
import { readPolicy } from '../read-policy.js'
import { matchRoute } from '../route-match.js'

const NOTE =
  "explain matches the path against the policy's route templates; the running middleware " +
  'judges the route its router dispatched (mount prefixes included): name it with --route ' +
  'when they differ'

/** `scopeguard explain <policy> <METHOD> <path>`: a decision, step by step. */
export const explain: Command = {
  name: 'explain',
  summary: 'show the decision for one request and why, step by step',
  arguments: [
    { name: '<policy>', description: 'the policy file, or git:REF:path' },
    { name: '<METHOD>', description: 'the request method: GET, POST, HEAD, …' },
    { name: '<path>', description: 'the concrete request path: /api/items/42' },
  ],
  options: {
    scopes: {
      type: 'string',
      value: 'scopes',
      description: 'the token\'s scopes, space-separated ("" for none)',
    },
    client: { type: 'string', value: 'id', description: "the token's client_id" },
    claims: {
      type: 'string',
      value: 'json',
      description: 'more claims, a JSON object: \'{"tenant":"a"}\'',
    },
    route: {
      type: 'string',
      value: 'template',
      description: 'the route template the router dispatches to, instead of matching the path',
    },
    realm: {
      type: 'string',
      value: 'realm',
      description: 'the realm of the challenge header (default api)',
    },
    format: { type: 'string', value: 'format', description: 'text (default) or json' },
    json: { type: 'boolean', description: 'the same as --format json' },
  },
  description: [
    'Judges one request with core decideRoute, as the middleware judges a dispatched route, and',
    'shows why: the rule found, the token scopes closed under implies, the requirement, each',
    'condition, the client baseline and ramp-contract stage, the mode, and the final status and',
    'WWW-Authenticate header. The rule is found by matching the path against the policy route',
    'templates (path-to-regexp, like Express 5 and @koa/router; the first template listed wins),',
    'HEAD using the GET rule, then the ALL rule. The running middleware judges the route its',
    'router really dispatched instead; give that template with --route when they differ. A token',
    'is described by --scopes, --client and --claims; without any of them the request has none.',
  ].join('\n'),
  exitCodes: [
    [EXIT.ok, 'the decision was explained (allowed or denied)'],
    [EXIT.usage, 'bad arguments, or the policy cannot be read or does not validate'],
  ],
  examples: [
    'scopeguard explain scopeguard.policy.yaml GET /items/42 --scopes "read:items" --client reader',
    `scopeguard explain scopeguard.policy.yaml POST /tenants/b/items --scopes write:items --claims '{"tenant":"a"}'`,
    'scopeguard explain scopeguard.policy.yaml GET /items    # no token: 401',
    'scopeguard explain scopeguard.policy.yaml GET /api/items/7 --route /api/items/:id --scopes read:items --json',
  ],
  async run(args, { out, cwd }) {
    const format = formatOption(args, ['text', 'json'])
    const [spec = '', rawMethod = '', path = ''] = args.positionals
    const method = rawMethod.toUpperCase()
    if (!/^[A-Z][A-Z-]*$/.test(method))
      throw usageError(`${JSON.stringify(rawMethod)} is not a method`)
    const scopes = stringOption(args, 'scopes')
    const client = stringOption(args, 'client')
    const claims = stringOption(args, 'claims')
    const auth =
      scopes === undefined && client === undefined && claims === undefined
        ? undefined
        : toAuthInfo({
            clientId: client,
            scopes: parseScopes(scopes ?? ''),
            claims: claims === undefined ? undefined : parseClaims(claims),
          })
    const loaded = await readPolicy(spec, cwd)
    const match = matchRoute(loaded.policy, method, path, stringOption(args, 'route'))
    const explanation = explainRequest(
      loaded.policy,
      match,
      auth,
      stringOption(args, 'realm') ?? 'api',
      {
        method,
        path,
      },
    )
    if (format === 'json') {
      out.line(JSON.stringify({ ...explanation, policy: policyOf(loaded), note: NOTE }, null, 2))
    } else {
      printExplanation(out, explanation, {
        indent: '',
        policy: `${loaded.source.name} (${loaded.policy.version})`,
      })
      if (stringOption(args, 'route') === undefined) out.line(out.style.dim(`note: ${NOTE}`))
    }
    return EXIT.ok
  },
}

function policyOf(loaded: Awaited<ReturnType<typeof readPolicy>>): object {
  return { file: loaded.source.name, version: loaded.policy.version }
}
