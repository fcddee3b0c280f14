import type { IncomingMessage, ServerResponse } from 'node:http'
import type Provider from 'oidc-provider'
import { INTERACTION_PREFIX } from './routes.js'

type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>

const MAX_FORM_BYTES = 4096
const INTERACTION_PATH = new RegExp(`^${INTERACTION_PREFIX}([\\w-]+)(/login)?$`)

/**
 * The end-user interactions of the authorization code flow, in place of oidc-provider's
 * devInteractions: `GET /interaction/:uid` shows a sign-in form (any login name is accepted,
 * there are no passwords: development only), `POST /interaction/:uid/login` with `login`
 * signs that user in, and consent is granted at once for the scopes the client asked for.
 * Uses only oidc-provider's documented `interactionDetails` and `interactionFinished`.
 *
 * @example
 * if (path.startsWith(INTERACTION_PREFIX)) await handleInteraction(provider, req, res, path)
 */
export async function handleInteraction(
  provider: Provider,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  const match = INTERACTION_PATH.exec(path)
  if (!match) return reply(res, 404, 'no such interaction route')
  const [, uid, login] = match
  let interaction: Interaction
  try {
    interaction = await provider.interactionDetails(req, res)
  } catch (error) {
    return reply(res, 400, `no interaction in progress (${(error as Error).name})`)
  }
  if (interaction.uid !== uid) return reply(res, 400, 'interaction cookie does not match the URL')

  if (login !== undefined) {
    if (req.method !== 'POST') return reply(res, 405, 'POST the sign-in form')
    if (interaction.prompt.name !== 'login') return reply(res, 400, 'sign-in is not expected now')
    const accountId = (await readForm(req))?.get('login')?.trim()
    if (!accountId) return reply(res, 400, 'login is required')
    return provider.interactionFinished(
      req,
      res,
      { login: { accountId } },
      { mergeWithLastSubmission: false },
    )
  }
  if (req.method !== 'GET') return reply(res, 405, 'GET the interaction')
  switch (interaction.prompt.name) {
    case 'login':
      return signInPage(res, interaction.uid)
    case 'consent': {
      const grantId = await grantRequested(provider, interaction)
      return provider.interactionFinished(
        req,
        res,
        { consent: { grantId } },
        { mergeWithLastSubmission: true },
      )
    }
    default:
      return reply(res, 501, `prompt ${interaction.prompt.name} is not implemented`)
  }
}

/** Grants what the consent prompt says is missing (as devInteractions does) and saves it. */
async function grantRequested(provider: Provider, interaction: Interaction): Promise<string> {
  const { details } = interaction.prompt
  const accountId = interaction.session?.accountId
  const clientId = interaction.params.client_id
  const grant =
    (interaction.grantId ? await provider.Grant.find(interaction.grantId) : undefined) ??
    new provider.Grant({ accountId, clientId: typeof clientId === 'string' ? clientId : undefined })
  const scopes = strings(details.missingOIDCScope)
  if (scopes.length > 0) grant.addOIDCScope(scopes.join(' '))
  const claims = strings(details.missingOIDCClaims)
  if (claims.length > 0) grant.addOIDCClaims(claims)
  const resourceScopes = details.missingResourceScopes
  if (typeof resourceScopes === 'object' && resourceScopes !== null) {
    for (const [indicator, scope] of Object.entries(resourceScopes)) {
      grant.addResourceScope(indicator, strings(scope).join(' '))
    }
  }
  return grant.save()
}

function strings(value: unknown): string[] {
  return Array.isArray(value)
    ? value.filter((item): item is string => typeof item === 'string')
    : []
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  let size = 0
  const chunks: Buffer[] = []
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_FORM_BYTES) return undefined
    chunks.push(chunk)
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
}

function signInPage(res: ServerResponse, uid: string): void {
  // uid matched [\w-]+, so it is safe in HTML as it is.
  const html = `<!doctype html>
<html><head><meta charset="utf-8"><title>Sign in — scopeguard dev authorization server</title></head>
<body>
<h1>Sign in</h1>
<p>Development server: any name signs in, there is no password.</p>
<form method="post" action="${INTERACTION_PREFIX}${uid}/login">
<label>Login <input name="login" value="demo-user" autofocus></label>
<button type="submit">Sign in</button>
</form>
</body></html>
`
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
  res.end(html)
}

function reply(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
  })
  res.end(`${message}\n`)
}
