import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { toolEnv } from './run-command.js'

/** A consumer app running in its own Node.js process. */
export interface NodeApp {
  /** `http://127.0.0.1:<port>`, as the app printed it. */
  readonly url: string
  stop(): Promise<void>
}

/**
 * Starts `node <file>` in `cwd` with extra environment variables and waits for the app to
 * print its first line, `{"url":"http://127.0.0.1:<port>"}`. If the app exits or stays
 * silent for `timeoutMs`, this rejects with what it wrote to stderr.
 *
 * @example
 * const app = await startNodeApp(appDir, 'express-app.mjs', { SG_ISSUER: authz.issuer })
 * await fetch(`${app.url}/items`)
 * await app.stop()
 */
export async function startNodeApp(
  cwd: string,
  file: string,
  env: Record<string, string>,
  timeoutMs = 20_000,
): Promise<NodeApp> {
  const child = spawn(process.execPath, [file], {
    cwd,
    env: { ...toolEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  try {
    const url = await readUrl(child, timeoutMs)
    return { url, stop: () => stopChild(child) }
  } catch (error) {
    await stopChild(child)
    throw new Error(`${file} did not start: ${(error as Error).message}\n${stderr}`, {
      cause: error,
    })
  }
}

function readUrl(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! })
    const timer = setTimeout(() => reject(new Error(`no output within ${timeoutMs} ms`)), timeoutMs)
    const settle = (fn: () => void) => {
      clearTimeout(timer)
      lines.close()
      child.stdout?.resume()
      fn()
    }
    lines.once('line', (line) =>
      settle(() => {
        try {
          resolve((JSON.parse(line) as { url: string }).url)
        } catch {
          reject(new Error(`unexpected first line: ${line}`))
        }
      }),
    )
    child.once('exit', (code) => settle(() => reject(new Error(`exited with ${String(code)}`))))
  })
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  await exited
}
