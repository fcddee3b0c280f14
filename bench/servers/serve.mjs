// What both benchmark servers share: listen on a free port of 127.0.0.1, tell the runner
// (IPC), answer its requests for counters, and stop when told to.
import { once } from 'node:events'

/** The payload every configuration answers GET /items with. */
export const ITEMS = Object.freeze({
  items: [
    { id: 1, name: 'first item' },
    { id: 2, name: 'second item' },
  ],
})

/** The configuration the runner passed as the first argument (JSON). */
export function readConfig() {
  return JSON.parse(process.argv[2] ?? '{}')
}

/**
 * Serves `listener` on 127.0.0.1 (a free port), reports `{ ready, port }` to the runner,
 * answers `{ stats: true }` with the guard's counters and process figures, and closes on
 * `{ stop: true }` (the guard first, so a file sink is flushed).
 */
export async function serve(server, { guard } = {}) {
  server.keepAliveTimeout = 60_000
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  process.on('message', async (message) => {
    if (message?.stats) {
      process.send({
        stats: {
          guard: guard?.stats(),
          audit: guard?.auditStats(),
          memory: process.memoryUsage(),
          cpu: process.cpuUsage(),
        },
      })
    }
    if (message?.stop) {
      await guard?.close(2000)
      server.closeAllConnections()
      server.close(() => process.exit(0))
    }
  })
  process.on('disconnect', () => process.exit(0))
  process.send({ ready: true, port: server.address().port })
}
