/**
 * Real X.509 certificates for the mTLS suite, issued with the `openssl` command (Node has no
 * API to issue certificates): a CA, a server certificate for 127.0.0.1, and client
 * certificates signed by the CA, plus a self-signed one (RFC 8705 §2.2).
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A certificate and its private key, PEM. */
export interface KeyAndCertificate {
  readonly key: string
  readonly cert: string
}

export interface TestCertificates {
  readonly ca: string
  readonly server: KeyAndCertificate
  /** Two client certificates issued by the CA. */
  readonly alice: KeyAndCertificate
  readonly bob: KeyAndCertificate
  /** A self-signed client certificate (no CA). */
  readonly selfSigned: KeyAndCertificate
}

/** Issues the certificates in a temporary directory (removed before returning). */
export function issueTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'scopeguard-mtls-'))
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
  }
  const read = (name: string): string => readFileSync(join(dir, name), 'utf8')
  const ecKey = (name: string): void =>
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', name)
  try {
    ecKey('ca.key')
    openssl(
      'req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=scopeguard test CA',
      '-days', '2', '-out', 'ca.pem', '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ) // prettier-ignore
    const issue = (name: string, subject: string, extensions: string): KeyAndCertificate => {
      ecKey(`${name}.key`)
      openssl('req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`)
      writeFileSync(join(dir, `${name}.ext`), extensions)
      openssl(
        'x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key',
        '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`,
      ) // prettier-ignore
      return { key: read(`${name}.key`), cert: read(`${name}.pem`) }
    }
    const client = 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n'
    const server = issue(
      'server',
      '/CN=127.0.0.1',
      'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n',
    )
    const alice = issue('alice', '/CN=alice-client', client)
    const bob = issue('bob', '/CN=bob-client', client)
    ecKey('self.key')
    openssl(
      'req', '-x509', '-new', '-key', 'self.key', '-subj', '/CN=self-signed-client',
      '-days', '2', '-out', 'self.pem',
    ) // prettier-ignore
    return {
      ca: read('ca.pem'),
      server,
      alice,
      bob,
      selfSigned: { key: read('self.key'), cert: read('self.pem') },
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
