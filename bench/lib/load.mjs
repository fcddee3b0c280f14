// The load generator: autocannon, as a library in the runner process, against a server in
// another process.
import autocannon from 'autocannon'

/**
 * Sends GET requests to `url` on `connections` keep-alive connections for `duration`
 * seconds, each with `Authorization: Bearer <token>`; with `tokens`, every request takes the
 * next token of the list in turn (the cold path: a token the server has not seen lately).
 * Returns requests per second, latency percentiles and the count of non-2xx answers.
 */
export function load({ url, token, tokens, connections, duration }) {
  const options = { url, connections, duration, method: 'GET' }
  if (tokens === undefined) {
    options.headers = { authorization: `Bearer ${token}` }
  } else {
    let next = 0
    options.requests = [
      {
        setupRequest(request) {
          const bearer = tokens[next++ % tokens.length]
          return { ...request, headers: { ...request.headers, authorization: `Bearer ${bearer}` } }
        },
      },
    ]
  }
  return new Promise((resolve, reject) => {
    autocannon(options, (error, result) => {
      if (error) return reject(error)
      resolve({
        rps: result.requests.total / result.duration,
        requests: result.requests.total,
        seconds: result.duration,
        latencyP50: result.latency.p50,
        latencyP99: result.latency.p99,
        non2xx: result.non2xx,
        errors: result.errors + result.timeouts,
      })
    })
  })
}
