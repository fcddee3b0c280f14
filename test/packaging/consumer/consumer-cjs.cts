// A CommonJS TypeScript user, compiled by test/packaging under `module: nodenext`, where
// TypeScript, like Node.js >= 20.19, lets CommonJS require() an ES module.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the CommonJS form is the point
import sg = require('@scopeguard/express')

const middleware: sg.ScopeguardMiddleware = sg.scopeguard({
  issuer: 'https://auth.example.com',
  audience: 'https://api.example.com',
})

function clientOf(auth: sg.AuthInfo | undefined): string | undefined {
  return auth?.clientId
}

export = { middleware, readItems: sg.requireScopes('read:items'), clientOf }
