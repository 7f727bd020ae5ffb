/**
 * `flashcast dev-cert`: a self-signed certificate for trying Flashcast over HTTPS on a LAN
 * (a phone's browser opens the camera only on a secure page), made with Debian's `openssl`.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';

export interface DevCertOptions {
  /** Where cert.pem and key.pem are written (created if missing). */
  outDir: string;
  /** Host names and IP addresses the certificate is valid for. */
  names: readonly string[];
  /** Validity in days (825 is the most Apple devices accept). */
  days?: number;
}

export interface DevCert {
  certFile: string;
  keyFile: string;
  names: string[];
}

/**
 * Writes a P-256 key and a self-signed certificate for `names` (subjectAltName; IPs as IP
 * entries). Not a CA (CA:FALSE), so a copy of its key can never vouch for another site.
 */
export function makeDevCert(options: DevCertOptions): DevCert {
  const names = [...new Set(options.names)];
  if (names.length === 0) throw new TypeError('a certificate needs at least one name');
  for (const name of names) {
    if (isIP(name) === 0 && !/^[A-Za-z0-9.-]{1,253}$/.test(name)) throw new TypeError(`not a host name or IP address: ${name}`);
  }
  mkdirSync(options.outDir, { recursive: true });
  const certFile = join(options.outDir, 'cert.pem');
  const keyFile = join(options.outDir, 'key.pem');
  const san = names.map((n) => (isIP(n) === 0 ? `DNS:${n}` : `IP:${n}`)).join(',');
  const args = [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-days', String(options.days ?? 825), '-subj', '/CN=Flashcast development',
    '-addext', `subjectAltName=${san}`,
    '-addext', 'basicConstraints=critical,CA:FALSE',
    '-addext', 'keyUsage=critical,digitalSignature',
    '-addext', 'extendedKeyUsage=serverAuth',
    '-keyout', keyFile, '-out', certFile,
  ];
  const run = spawnSync('openssl', args, { encoding: 'utf8' });
  if (run.error) throw new Error(`cannot run openssl (${run.error.message}): apt-get install openssl`);
  if (run.status !== 0) throw new Error(`openssl failed: ${run.stderr.trim()}`);
  return { certFile, keyFile, names };
}
