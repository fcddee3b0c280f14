// The options of `bench/compare.mjs` and `bench/instructions.mjs` that choose the app
// configuration measured in both checkouts, for `util.parseArgs`.

export const CONFIGURATION_OPTIONS = {
  framework: { type: 'string', default: 'express' },
  variant: { type: 'string', default: 'scopeguard' },
  sink: { type: 'boolean', default: false },
  routes: { type: 'string', default: '1000' },
  help: { type: 'boolean', default: false },
}
