import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { expect } from 'vitest';
import { stringify } from 'yaml';
import { RedisLedger } from '../../src/ledger/redis-ledger.ts';
import { ROTATION_QUEUE } from '../../src/queue/job-data.ts';
import { openQueues, type Queues } from '../../src/queue/rotation-queue.ts';
import type { TargetRecord } from '../../src/rotation/ledger-model.ts';
import {
  EntraGraphSimulator,
  type EntraGraphSimulatorOptions,
  type SimPassword,
} from '../../src/sim/entra/entra-graph-simulator.ts';
import { QualysSimulator, type QualysSimulatorOptions } from '../../src/sim/qualys/qualys-simulator.ts';

/**
 * An estate for worker tests: the Entra/Graph and Qualys simulators, apps that are due (each with an
 * unmanaged key 40 days old that its connectors hold), and a configuration file for `rotator worker`
 * on the run's Redis under a key prefix of its own.
 */

export interface EstateApp {
  readonly name: string;
  readonly appId: string;
  readonly objectId: string;
  readonly connectors: readonly string[];
}

export interface EstateOptions {
  readonly tls: { readonly cert: string; readonly key: string };
  readonly redisUrl: string;
  /** How many connectors app `index` has (all registered in Qualys with the old key). */
  readonly connectorsOf: readonly number[];
  readonly propagationDelayMs: number;
  readonly label: string;
  /** Merged over the estate's simulator options (seeds, rate limits). */
  readonly qualysOptions?: Omit<QualysSimulatorOptions, 'password' | 'validateCredential'>;
  readonly entraOptions?: Omit<EntraGraphSimulatorOptions, 'tls' | 'propagationDelayMs'>;
}

type Yaml = Record<string, unknown>;

export interface Estate {
  readonly entra: EntraGraphSimulator;
  readonly qualys: QualysSimulator;
  readonly apps: readonly EstateApp[];
  readonly redisUrl: string;
  /** Every secret and password the tests know of, for the leak scan. */
  readonly knownSecrets: () => string[];
  /**
   * Writes a configuration for `apps` (all by default) under a fresh key prefix; `overrides` are
   * merged section by section (`{ rotation: { gracePeriod: '0s' } }`).
   */
  writeConfig(overrides?: Yaml, apps?: readonly EstateApp[]): { file: string; keyPrefix: string };
  close(): Promise<void>;
}

const DAY_MS = 86_400_000;

export async function startEstate(options: EstateOptions): Promise<Estate> {
  const tenantId = randomUUID();
  const rotatorId = randomUUID();
  const rotatorSecret = `rotator-${randomUUID()}`;
  const qualysPassword = `qualys-${randomUUID()}`;
  const entra = await EntraGraphSimulator.start({
    tls: { cert: options.tls.cert, key: options.tls.key },
    propagationDelayMs: options.propagationDelayMs,
    ...options.entraOptions,
  });
  entra.addClient({ tenantId, clientId: rotatorId, secret: rotatorSecret });
  const qualys = await QualysSimulator.start({
    password: qualysPassword,
    rateLimit: { limit: 100_000, windowMs: 3_600_000 },
    concurrencyLimit: 64,
    ...options.qualysOptions,
    validateCredential: (appId, secret) => entra.acceptsSecret(appId, secret),
  });
  const apps: EstateApp[] = options.connectorsOf.map((count, index) => {
    const app = entra.addApp({ tenantId, owners: [rotatorId] });
    const seeded = entra.seedPassword(app.appId, {
      displayName: 'set up by hand',
      startDateTime: new Date(Date.now() - 40 * DAY_MS).toISOString(),
    });
    const connectors = Array.from({ length: count }, () => randomUUID());
    for (const connector of connectors) {
      qualys.addConnector(connector);
      qualys.seedMapping(connector, app.appId, seeded.secretText);
    }
    return { name: `${options.label}-${index}`, appId: app.appId, objectId: app.objectId, connectors };
  });
  const dir = mkdtempSync(join(tmpdir(), `rotator-${options.label}-`));
  let configs = 0;

  return {
    entra,
    qualys,
    apps,
    redisUrl: options.redisUrl,
    knownSecrets: () => [
      rotatorSecret,
      qualysPassword,
      ...entra.issuedSecrets(),
      ...entra.issuedTokens(),
      ...qualys.issuedTokens(),
      ...qualys.receivedSecrets(),
    ],
    writeConfig(overrides: Yaml = {}, selected: readonly EstateApp[] = apps) {
      configs += 1;
      const keyPrefix = `{${options.label}-${randomUUID().slice(0, 8)}}`;
      const base: Record<string, Yaml> = {
        qualys: {
          gatewayUrl: qualys.url,
          username: qualys.username,
          password: qualysPassword,
          http: { retryBaseDelay: '10ms', retryMaxDelay: '50ms' },
        },
        azure: {
          cloud: 'custom',
          authorityHost: entra.authorityHost,
          graphEndpoint: entra.graphEndpoint,
          readinessPollInterval: '50ms',
          readinessTimeout: '30s',
          graph: { retryBaseDelay: '10ms', retryMaxDelay: '50ms' },
          tenants: [
            {
              id: tenantId,
              auth: { kind: 'clientSecret', clientId: rotatorId, clientSecret: rotatorSecret },
            },
          ],
        },
        rotation: {
          gracePeriod: '0s',
          keepPrevious: 0,
          batchWindow: '200ms',
          verifyAttempts: 3,
          verifyDelay: '100ms',
          lockTtl: '3s',
        },
        worker: {},
        http: { host: '127.0.0.1', port: 0 },
        redis: { url: options.redisUrl, keyPrefix },
        logging: { level: 'info' },
      };
      const document: Yaml = {
        ...base,
        targets: selected.map((app) => ({
          name: app.name,
          appId: app.appId,
          objectId: app.objectId,
          tenant: tenantId,
          connectors: [...app.connectors],
        })),
      };
      for (const [section, values] of Object.entries(overrides)) {
        document[section] = { ...(base[section] ?? {}), ...(values as Yaml) };
      }
      const file = join(dir, `rotator-${configs}.yaml`);
      writeFileSync(file, stringify(document));
      return { file, keyPrefix };
    },
    async close() {
      await entra.close();
      await qualys.close();
    },
  };
}

/** The managed keys (made by the rotator) of an app. */
export function managedKeys(entra: EntraGraphSimulator, appId: string): SimPassword[] {
  return entra.passwords(appId).filter((password) => password.displayName?.startsWith('rotator r-') === true);
}

/** addPassword calls Graph answered with success, for one app (the path holds its object id). */
export function addPasswordCalls(entra: EntraGraphSimulator, app: EstateApp): number {
  return entra
    .calls()
    .filter(
      (call) =>
        call.endpoint === 'addPassword' &&
        call.path.includes(app.objectId) &&
        call.status >= 200 &&
        call.status < 300,
    ).length;
}

/** Every connector of every app holds a secret Entra accepts; exactly the current managed key remains. */
export function expectConsistent(estate: Estate, apps: readonly EstateApp[]): void {
  for (const app of apps) {
    for (const connector of app.connectors) {
      const secret = estate.qualys.storedSecret(connector, app.appId);
      expect(secret, `connector ${connector} of ${app.name} holds a secret`).toBeDefined();
      expect(
        estate.entra.acceptsSecret(app.appId, secret!),
        `connector ${connector} of ${app.name} holds a secret Entra accepts`,
      ).toBe(true);
    }
    // gracePeriod 0s and keepPrevious 0: only the current managed key is left.
    expect(managedKeys(estate.entra, app.appId), `managed keys of ${app.name}`).toHaveLength(1);
  }
}

/** What the test process sees of the rotator's Redis state: the ledger and the queues, as a producer. */
export interface RotatorRedis {
  readonly redis: Redis;
  readonly ledger: RedisLedger;
  readonly queues: Queues;
  records(apps: readonly EstateApp[]): Promise<Map<string, TargetRecord>>;
  /**
   * Time travel for BullMQ: what its lock expiry (lockDuration, 30 s) and two passes of the stalled
   * checker (stalledInterval, 30 s) do to the jobs a killed or force-stopped worker left active — mark
   * them stalled with no lock, so the next worker's first stalled check moves them back to wait.
   * Returns the job ids it touched.
   */
  expireAbandonedJobLocks(): Promise<string[]>;
  close(): Promise<void>;
}

export function connectRotatorRedis(redisUrl: string, keyPrefix: string): RotatorRedis {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const ledger = new RedisLedger(redis, { keyPrefix });
  const queues = openQueues(redis, keyPrefix);
  const queueKey = (suffix: string) => `${keyPrefix}:${ROTATION_QUEUE}:${suffix}`;
  return {
    redis,
    ledger,
    queues,
    records: (apps) => ledger.readMany(apps.map((app) => app.appId)),
    async expireAbandonedJobLocks() {
      const active = await redis.lrange(queueKey('active'), 0, -1);
      for (const jobId of active) {
        await redis.del(queueKey(`${jobId}:lock`));
        await redis.sadd(queueKey('stalled'), jobId);
      }
      await redis.del(queueKey('stalled-check'));
      return active;
    },
    async close() {
      await queues.close();
      redis.disconnect();
    },
  };
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
