// The Redis integration tests start a real redis-server. This makes sure there is one: on a
// machine where we are root with apt-get (CI, a fresh container) it installs Debian's
// package; elsewhere it says what to install and stops.
import { execFileSync } from 'node:child_process'

function has(command, args = ['--version']) {
  try {
    execFileSync(command, args, { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

if (!has('redis-server')) {
  if (process.getuid?.() === 0 && has('apt-get', ['--version'])) {
    console.log('redis-server is missing: installing it with apt-get')
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env })
    execFileSync('apt-get', ['install', '-y', '-qq', 'redis-server'], { stdio: 'inherit', env })
  } else {
    console.error(
      'The tests need redis-server on the PATH: apt-get install redis-server, brew install redis, or your platform’s package.',
    )
    process.exit(1)
  }
}
