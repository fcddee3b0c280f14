import { readApiOptions } from './env.js'
import { createItemsApp } from './app.js'

const port = Number(process.env['PORT'] ?? 3001)
const { app, guard } = createItemsApp(readApiOptions())
const server = app.listen(port, '127.0.0.1', () => {
  console.log(`items API (Koa) on http://127.0.0.1:${port}`)
})
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  // Stop taking requests, then close the guard: it flushes its events and closes its store
  // (a Redis connection would otherwise keep the process alive).
  process.once(signal, () => server.close(() => void guard.close()))
}
