import { rm } from 'node:fs/promises';
import type { TestProject } from 'vitest/node';
import { createSelfSignedCert, type SelfSignedCert } from '../../src/sim/shared/self-signed-cert.ts';
import { startRedisServer, type RedisServerHandle } from './redis-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    /** PEM of the run's self-signed certificate and key, for the HTTPS simulators. */
    tlsCert: string;
    tlsKey: string;
  }
}

let redis: RedisServerHandle | undefined;
let cert: SelfSignedCert | undefined;

/**
 * One real redis-server for the whole run (tests isolate themselves with unique key prefixes), and one
 * self-signed certificate that every test process trusts through NODE_EXTRA_CA_CERTS: MSAL and the
 * Graph client accept nothing but https, and Node reads that variable only when a process starts,
 * so it must be set here, before vitest forks its workers.
 */
export async function setup(project: TestProject): Promise<void> {
  [redis, cert] = await Promise.all([startRedisServer(), createSelfSignedCert()]);
  process.env.NODE_EXTRA_CA_CERTS = cert.certPath;
  project.provide('redisUrl', redis.url);
  project.provide('tlsCert', cert.cert);
  project.provide('tlsKey', cert.key);
}

export async function teardown(): Promise<void> {
  await redis?.stop();
  if (cert) await rm(cert.dir, { recursive: true, force: true });
}
