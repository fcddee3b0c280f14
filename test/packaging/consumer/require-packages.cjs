// A CommonJS user: require()s each package named on the command line (Node.js >= 20.19 loads
// ESM through require) and prints, as JSON, the type of each export and whether the package's
// ScopeguardConfigError is the very class of @scopeguard/core (one copy, so `instanceof` works).
/* eslint-disable @typescript-eslint/no-require-imports -- require() is what this file tests */
'use strict'

const core = require('@scopeguard/core')
const report = {}
for (const name of process.argv.slice(2)) {
  const loaded = require(name)
  report[name] = {
    exports: Object.fromEntries(Object.keys(loaded).map((key) => [key, typeof loaded[key]])),
    sameConfigError: loaded.ScopeguardConfigError === core.ScopeguardConfigError,
  }
}
console.log(JSON.stringify(report))
