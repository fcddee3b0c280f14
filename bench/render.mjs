// Renders docs/benchmarks.md again from the raw results of a run (the JSON file `pnpm bench`
// writes to the temporary folder): `node bench/render.mjs <results.json> [out.md]`.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { analyze } from './lib/analyze.mjs'
import { writeReport } from './lib/report.mjs'

const [input, output] = process.argv.slice(2)
if (input === undefined) {
  console.error('usage: node bench/render.mjs <results.json> [out.md]')
  process.exit(2)
}
const results = JSON.parse(await readFile(input, 'utf8'))
results.analysis = analyze(results)
const file = output ?? join(new URL('.', import.meta.url).pathname, '..', 'docs', 'benchmarks.md')
await writeReport(results, file)
console.log(`wrote ${file}`)
