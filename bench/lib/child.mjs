// Runs a benchmark script in its own Node.js process and returns what it reports over IPC.
import { fork } from 'node:child_process'

/** Forks `file` with `input` (JSON) as its argument; resolves with its `{ result }` message. */
export function runChild(file, input, { execArgv = [] } = {}) {
  return new Promise((resolve, reject) => {
    const child = fork(file, [JSON.stringify(input)], {
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    let result
    child.on('message', (message) => {
      if (message?.result !== undefined) result = message.result
    })
    child.on('error', reject)
    child.on('exit', (code) => {
      if (code === 0 && result !== undefined) resolve(result)
      else reject(new Error(`${file} exited with ${code} without a result`))
    })
  })
}

/** In a child: sends the result to the runner and exits. */
export function report(result) {
  process.send({ result }, () => process.exit(0))
}
