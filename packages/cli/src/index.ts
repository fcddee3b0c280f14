export { run } from './run.js'
export type { CliIo, OutputStream } from './io.js'
export { CliError, EXIT } from './errors.js'
