import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface SelfSignedCert {
  readonly cert: string;
  readonly key: string;
  readonly certPath: string;
  readonly keyPath: string;
  /** The fresh temp directory holding both files; the caller removes it when done. */
  readonly dir: string;
}

/**
 * A throw-away self-signed certificate for the local HTTPS simulators. MSAL and the Graph client
 * refuse plain http, so the simulators must speak TLS; the files exist so that another process can
 * trust the certificate through NODE_EXTRA_CA_CERTS.
 */
export async function createSelfSignedCert(
  hostnames: string[] = ['localhost', '127.0.0.1'],
): Promise<SelfSignedCert> {
  if (hostnames.length === 0) throw new TypeError('createSelfSignedCert needs at least one hostname');
  const dir = await mkdtemp(join(tmpdir(), 'sim-cert-'));
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  const subjectAltName = hostnames.map((name) => (isIP(name) === 0 ? `DNS:${name}` : `IP:${name}`)).join(',');
  const commonName = hostnames.find((name) => isIP(name) === 0) ?? 'localhost';
  await execFileAsync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${commonName}`,
      '-addext',
      `subjectAltName=${subjectAltName}`,
      '-keyout',
      keyPath,
      '-out',
      certPath,
    ],
    { timeout: 30_000 },
  );
  const [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
  return { cert, key, certPath, keyPath, dir };
}
