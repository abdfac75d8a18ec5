import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, beforeAll, afterAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import type { RotatorConfig } from '../../src/config/types.ts';
import { RedisLedger } from '../../src/ledger/redis-ledger.ts';
import { enqueueRotation } from '../../src/queue/rotation-queue.ts';
import { EntraGraphSimulator } from '../../src/sim/entra/entra-graph-simulator.ts';
import { QualysSimulator } from '../../src/sim/qualys/qualys-simulator.ts';
import { startWorker, type WorkerApp } from '../../src/worker/worker-app.ts';
import { expectNoSecrets } from '../support/leak-scan.ts';
import { captureLogger } from '../support/log-capture.ts';

/** The queue worker in this process, against the simulators and the run's Redis. */

const TENANT = randomUUID();
const ROTATOR = randomUUID();
const ROTATOR_SECRET = `rotator-${randomUUID()}`;
let entra: EntraGraphSimulator;
let qualys: QualysSimulator;
const logs = captureLogger('debug');
let running: WorkerApp | undefined;

beforeAll(async () => {
  entra = await EntraGraphSimulator.start({ tls: { cert: inject('tlsCert'), key: inject('tlsKey') } });
  entra.addClient({ tenantId: TENANT, clientId: ROTATOR, secret: ROTATOR_SECRET });
  qualys = await QualysSimulator.start({
    rateLimit: { limit: 100_000, windowMs: 3_600_000 },
    concurrencyLimit: 50,
    validateCredential: (appId, secret) => entra.acceptsSecret(appId, secret),
  });
});

afterEach(async () => {
  await running?.stop();
  running = undefined;
  qualys.resetFaults();
});

afterAll(async () => {
  await entra.close();
  await qualys.close();
});

/** An app due for rotation (a 40-day-old key), registered to `connectors` fresh connectors. */
function dueApp(connectors = 1): { appId: string; connectors: string[] } {
  const app = entra.addApp({ tenantId: TENANT, owners: [ROTATOR] });
  const seeded = entra.seedPassword(app.appId, {
    startDateTime: new Date(Date.now() - 40 * 86_400_000).toISOString(),
  });
  const ids = Array.from({ length: connectors }, () => randomUUID());
  for (const connector of ids) qualys.seedMapping(connector, app.appId, seeded.secretText);
  return { appId: app.appId, connectors: ids };
}

function config(
  apps: { appId: string; connectors: string[] }[],
  extra: { rotation?: string; worker?: string; qualysHttp?: string } = {},
): RotatorConfig {
  const dir = mkdtempSync(join(tmpdir(), 'rotator-worker-'));
  const file = join(dir, 'rotator.yaml');
  writeFileSync(
    file,
    `qualys:
  gatewayUrl: ${qualys.url}
  username: ${qualys.username}
  password: ${qualys.password}
  http: { retryBaseDelay: 10ms, retryMaxDelay: 50ms${extra.qualysHttp ?? ''} }
azure:
  cloud: custom
  authorityHost: ${entra.authorityHost}
  graphEndpoint: ${entra.graphEndpoint}
  readinessPollInterval: 50ms
  tenants: [{ id: ${TENANT}, auth: { kind: clientSecret, clientId: ${ROTATOR}, clientSecret: ${ROTATOR_SECRET} } }]
targets:
${apps.map((app, index) => `  - { name: w-${index}, appId: ${app.appId}, tenant: ${TENANT}, connectors: [${app.connectors.join(', ')}] }`).join('\n')}
rotation: { gracePeriod: 0s, keepPrevious: 0, batchWindow: 50ms, verifyDelay: 50ms${extra.rotation ?? ''} }
worker: { concurrency: 4, backoffBase: 100ms, backoffMax: 200ms${extra.worker ?? ''} }
redis: { url: ${inject('redisUrl')}, keyPrefix: '{w-${randomUUID().slice(0, 8)}}' }
`,
  );
  return loadConfig({ path: file, env: {} });
}

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function ledgerOf(cfg: RotatorConfig): { ledger: RedisLedger; close: () => void } {
  const redis = new Redis(cfg.redis.url);
  return {
    ledger: new RedisLedger(redis, { keyPrefix: cfg.redis.keyPrefix }),
    close: () => redis.disconnect(),
  };
}

const managed = (appId: string) =>
  entra.passwords(appId).filter((password) => password.displayName?.startsWith('rotator r-'));

describe('rotator worker', () => {
  it('rotates what the scheduled sweep finds due, and verifies it', async () => {
    const apps = [dueApp(2), dueApp(1)];
    const cfg = config(apps, { rotation: `, schedule: '* * * * * *'` });
    const started = Date.now();
    running = await startWorker(cfg, logs.logger, { http: false });
    const { ledger, close } = ledgerOf(cfg);
    try {
      const records = await until(async () => {
        const all = await ledger.readMany(apps.map((app) => app.appId));
        return [...all.values()].filter((record) => record.lastResult?.outcome === 'rotated').length ===
          apps.length
          ? all
          : undefined;
      });
      expect(records.size).toBe(2);
      for (const app of apps) {
        for (const connector of app.connectors)
          expect(entra.acceptsSecret(app.appId, qualys.storedSecret(connector, app.appId)!)).toBe(true);
        expect(managed(app.appId)).toHaveLength(1);
      }
      const schedulers = await running.queues.rotation.getJobSchedulers();
      expect(schedulers.map((scheduler) => scheduler.key).sort()).toEqual(['dead-letter-cleanup', 'sweep']);
      // The scheduled sweeps that queued them were recorded and counted.
      const metrics = await running.metrics.render();
      const lastSweep = /^rotator_last_sweep_timestamp_seconds (\S+)$/m.exec(metrics)?.[1];
      expect(Number(lastSweep) * 1000).toBeGreaterThan(started);
      expect(Number(lastSweep) * 1000).toBeLessThanOrEqual(Date.now());
      expect(metrics).toMatch(/^rotator_sweeps_total\{outcome="succeeded"\} [1-9]/m);
    } finally {
      close();
    }
  });

  it('merges a second request for the same app into the queued job', async () => {
    const app = dueApp();
    const cfg = config([app]);
    running = await startWorker(cfg, logs.logger, { http: false });
    await running.worker.pause(true);
    const first = await enqueueRotation(running.queues.rotation, cfg.worker, {
      appId: app.appId,
      forced: false,
      origin: 'operator',
    });
    const second = await enqueueRotation(running.queues.rotation, cfg.worker, {
      appId: app.appId,
      forced: true,
      origin: 'operator',
    });
    expect([first, second]).toEqual(['queued', 'already-queued']);
    const job = await running.queues.rotation.getJob(`rotate-${app.appId}`);
    expect(job?.data).toMatchObject({ forced: true });
    expect(await running.queues.rotation.getJobCountByTypes('waiting', 'prioritized')).toBe(1);
    await running.worker.resume();
  });

  it('pauses the queue when Qualys throttles, without spending an attempt, then rotates', async () => {
    const app = dueApp();
    const cfg = config([app], { qualysHttp: ', maxThrottleWait: 100ms', worker: ', attempts: 1' });
    qualys.setFaults({ throttleNext: { count: 1, retryAfterSec: 2, endpoints: ['update'] } });
    running = await startWorker(cfg, logs.logger, { http: false });
    const started = Date.now();
    await enqueueRotation(running.queues.rotation, cfg.worker, {
      appId: app.appId,
      forced: false,
      origin: 'operator',
    });
    const { ledger, close } = ledgerOf(cfg);
    try {
      // With a single attempt, a throttle that spent one would have dead-lettered the app.
      await until(async () =>
        (await ledger.read(app.appId))?.lastResult?.outcome === 'rotated' ? true : undefined,
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
      expect(await running.queues.deadLetters.count()).toBe(0);
      expect(managed(app.appId)).toHaveLength(1);
      expect(logs.lines.some((line) => line.includes('pausing the queue'))).toBe(true);
    } finally {
      close();
    }
  });

  it('dead-letters a permanent failure at once and a transient one when its attempts run out', async () => {
    const foreign = entra.addApp({ tenantId: TENANT, owners: [randomUUID()] });
    const permanent = { appId: foreign.appId, connectors: [randomUUID()] };
    const flaky = dueApp();
    const cfg = config([permanent, flaky], { worker: ', attempts: 2' });
    // Qualys answers 503 to every update: a transient failure on every attempt.
    qualys.setFaults({ failNext: { count: 1_000, status: 503, endpoints: ['update'] } });
    running = await startWorker(cfg, logs.logger, { http: false });
    await enqueueRotation(running.queues.rotation, cfg.worker, {
      appId: permanent.appId,
      forced: false,
      origin: 'operator',
    });
    await enqueueRotation(running.queues.rotation, cfg.worker, {
      appId: flaky.appId,
      forced: false,
      origin: 'operator',
    });
    let last: unknown;
    const items = await until(async () => {
      const list = await running!.queues.deadLetters.list();
      last = list;
      return list.length === 2 ? list : undefined;
    }, 25_000).catch((error: unknown) => {
      throw new Error(`dead letters: ${JSON.stringify(last)}; ${String(error)}`);
    });
    const byApp = new Map(items.map((item) => [item.appId, item]));
    expect(byApp.get(permanent.appId)).toMatchObject({
      errorCode: 'ROT_ERR_GRAPH_PERMISSION',
      step: 'plan',
      attempts: 1,
      connectors: permanent.connectors,
    });
    expect(byApp.get(flaky.appId)).toMatchObject({
      errorCode: 'ROT_ERR_QUALYS_HTTP_STATUS',
      step: 'push',
      attempts: 2,
    });
  }, 40_000);

  it('keeps every secret out of the logs and out of Redis', async () => {
    const redis = new Redis(inject('redisUrl'));
    try {
      const keys = await redis.keys('{w-*');
      const values: string[] = [];
      for (const key of keys) {
        const type = await redis.type(key);
        if (type === 'string') values.push((await redis.get(key)) ?? '');
        else if (type === 'hash') values.push(JSON.stringify(await redis.hgetall(key)));
        else if (type === 'list') values.push((await redis.lrange(key, 0, -1)).join('\n'));
      }
      expectNoSecrets({ logs: logs.lines, redis: values }, [
        ROTATOR_SECRET,
        qualys.password,
        ...entra.issuedSecrets(),
        ...entra.issuedTokens(),
        ...qualys.issuedTokens(),
      ]);
    } finally {
      redis.disconnect();
    }
  });
});
