import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import { createSelfSignedCert } from '../sim/shared/self-signed-cert.ts';

/** Set in the re-executed demo: the directory holding the certificate it trusts and serves. */
const MARKER = 'ROTATOR_DEMO_CERT_DIR';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The certificate directory when this process already trusts the demo's certificate. Node reads
 * NODE_EXTRA_CA_CERTS only at start-up, so trust exists only if the variable named our file then.
 */
export function trustedCertDir(env: Env): string | undefined {
  const dir = env[MARKER];
  if (dir === undefined || dir === '') return undefined;
  return env.NODE_EXTRA_CA_CERTS === join(dir, 'cert.pem') ? dir : undefined;
}

/**
 * Creates the simulators' certificate and runs this same command again in a child that trusts it,
 * forwarding its exit code. The certificate is removed when the child ends.
 */
export async function reExecTrustingCert(env: Env): Promise<number> {
  const cert = await createSelfSignedCert();
  try {
    const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      stdio: 'inherit',
      env: { ...env, NODE_EXTRA_CA_CERTS: cert.certPath, [MARKER]: cert.dir },
    });
    // Ctrl-C reaches the child from the terminal by itself; the parent just waits for it to finish.
    const ignoreInterrupt = (): void => undefined;
    const forwardTerm = (): void => {
      child.kill('SIGTERM');
    };
    process.on('SIGINT', ignoreInterrupt);
    process.on('SIGTERM', forwardTerm);
    try {
      return await new Promise<number>((resolve, reject) => {
        child.once('error', reject);
        child.once('exit', (code, signal) =>
          resolve(code ?? (signal === null ? 1 : 128 + constants.signals[signal])),
        );
      });
    } finally {
      process.off('SIGINT', ignoreInterrupt);
      process.off('SIGTERM', forwardTerm);
    }
  } finally {
    await rm(cert.dir, { recursive: true, force: true });
  }
}
