// What the report says about where and with what it ran: the machine, Node.js, every
// benchmarked library's version, and the repository's commit.
import { execFileSync } from 'node:child_process'
import { readFileSync, realpathSync } from 'node:fs'
import os from 'node:os'
import { dirname, join } from 'node:path'

const root = join(new URL('.', import.meta.url).pathname, '..', '..')

/** [name, what it is, parent package it is a dependency of (undefined: the workspace root)]. */
const LIBRARIES = [
  ['@scopeguard/core', 'this repository', undefined],
  ['@scopeguard/express', 'this repository', undefined],
  ['@scopeguard/koa', 'this repository', undefined],
  ['express', 'framework', undefined],
  ['koa', 'framework', undefined],
  ['@koa/router', 'router', undefined],
  ['jose', 'JWT verification (scopeguard, bare baseline)', undefined],
  ['express-oauth2-jwt-bearer', 'peer', undefined],
  ['jose', 'used by express-oauth2-jwt-bearer', 'express-oauth2-jwt-bearer'],
  ['express-jwt', 'peer', undefined],
  ['jsonwebtoken', 'used by express-jwt', 'express-jwt'],
  ['express-jwt-authz', 'peer', undefined],
  ['jwks-rsa', 'peer (keys for express-jwt and koa-jwt)', undefined],
  ['koa-jwt', 'peer', undefined],
  ['jsonwebtoken', 'used by koa-jwt', 'koa-jwt'],
  ['oidc-provider', 'the local authorization server', '@scopeguard-examples/authz-server'],
  ['autocannon', 'load generator', undefined],
  ['mitata', 'micro benchmarks', undefined],
]

function packageDir(name, parent) {
  if (parent === undefined) return realpathSync(join(root, 'node_modules', name))
  // pnpm puts a package's dependencies beside it in its own node_modules folder.
  const parentDir = packageDir(parent)
  const scoped = parent.startsWith('@') ? 2 : 1
  let modules = parentDir
  for (let i = 0; i < scoped; i++) modules = dirname(modules)
  try {
    return realpathSync(join(modules, name))
  } catch {
    return realpathSync(join(parentDir, 'node_modules', name))
  }
}

function versionOf(name, parent) {
  try {
    return JSON.parse(readFileSync(join(packageDir(name, parent), 'package.json'), 'utf8')).version
  } catch {
    return 'unknown'
  }
}

function git(...args) {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim()
  } catch {
    return ''
  }
}

/** The machine, Node.js, library versions and commit, as the report prints them. */
export async function describeEnvironment() {
  const cpus = os.cpus()
  return {
    machine: {
      cpuModel: cpus[0]?.model ?? 'unknown',
      cpus: cpus.length,
      cpuMHz: cpus[0]?.speed,
      memoryGiB: os.totalmem() / 2 ** 30,
      os: `${os.type()} ${os.release()} ${os.arch()}`,
      load: os.loadavg(),
    },
    node: process.version,
    v8: process.versions.v8,
    libraries: LIBRARIES.map(([name, role, parent]) => ({
      name,
      role,
      version: versionOf(name, parent),
    })),
    commit: git('rev-parse', '--short', 'HEAD'),
    dirty: git('status', '--porcelain', '--', 'packages').length > 0,
  }
}
