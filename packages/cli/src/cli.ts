#!/usr/bin/env node
// The `scopeguard` binary: runs the command line with the process's streams and exits with
// its code. It exits explicitly once the output is written, because an app module imported
// by `scopeguard coverage` may keep handles open (a database pool, a timer).
import { run } from './run.js'

for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0) // `| head` closed the pipe
    throw error
  })
}

const code = await run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr })
process.exitCode = code
await Promise.all(
  [process.stdout, process.stderr].map(
    (stream) => new Promise<void>((resolve) => stream.write('', () => resolve())),
  ),
)
process.exit(code)
