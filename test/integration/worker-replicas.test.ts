import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import type { RotatorConfig } from '../../src/config/types.ts';
import { enqueueRotation } from '../../src/queue/rotation-queue.ts';
import { expectNoSecrets } from '../support/leak-scan.ts';
import { freePort } from '../support/redis-server.ts';
import {
  addPasswordCalls,
  connectRotatorRedis,
  expectConsistent,
  managedKeys,
  startEstate,
  waitFor,
  type Estate,
  type RotatorRedis,
} from '../support/worker-estate.ts';
import {
  getHealth,
  hasMsg,
  spawnWorker,
  waitUntilReady,
  type WorkerProcess,
} from '../support/worker-process.ts';

/**
 * Three real `rotator worker` replicas on one Redis, 50 due targets: each target is rotated exactly
 * once (one new managed key, created by one addPassword), the work is spread over the replicas,
 * concurrent pushes share Qualys calls, and SIGTERM stops every replica cleanly (exit 0).
 */

const TARGETS = 50;
const REPLICAS = 3;

let estate: Estate;
let config: RotatorConfig;
let configFile: string;
let rotator: RotatorRedis;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  estate = await startEstate({
    tls: { cert: inject('tlsCert'), key: inject('tlsKey') },
    redisUrl: inject('redisUrl'),
    // 1 or 2 connectors each: 75 (connector, app) pairs.
    connectorsOf: Array.from({ length: TARGETS }, (_, index) => 1 + (index % 2)),
    propagationDelayMs: 150,
    label: 'replicas',
  });
  // A fixed port in the file that every replica overrides with ROTATOR_HTTP__PORT=0: were the override
  // ignored, the second replica would fail to listen.
  const written = estate.writeConfig({
    // 3 × 8 slots for 50 targets: no replica can take everything at once.
    worker: { concurrency: 8, shutdownTimeout: '10s' },
    http: { host: '127.0.0.1', port: await freePort() },
  });
  configFile = written.file;
  config = loadConfig({ path: configFile, env: {} });
  rotator = connectRotatorRedis(estate.redisUrl, written.keyPrefix);
}, 30_000);

afterAll(async () => {
  for (const worker of workers) worker.kill();
  await rotator.close();
  await estate.close();
});

describe('three worker replicas against one Redis', () => {
  it('rotate each of 50 targets exactly once, spread over the replicas, and stop on SIGTERM', async () => {
    const started = performance.now();
    for (let index = 0; index < REPLICAS; index += 1)
      workers.push(spawnWorker(configFile, { ROTATOR_HTTP__PORT: '0' }));

    // Each replica listens on a port of its own, answers /livez, and becomes ready.
    const urls = await Promise.all(workers.map((worker) => worker.url()));
    expect(new Set(urls).size).toBe(REPLICAS);
    for (const url of urls) {
      const live = await getHealth(url, '/livez');
      expect(live).toEqual({ status: 200, body: { status: 'ok' } });
    }
    await Promise.all(urls.map((url) => waitUntilReady(url, 15_000)));
    for (const url of urls) {
      const ready = await getHealth(url, '/readyz');
      expect(ready).toEqual({
        status: 200,
        body: { status: 'ready', checks: { redis: true, schedulers: true, worker: true } },
      });
    }
    const readyAt = performance.now();

    // Every target once, then every target again at once: the second request joins the first.
    const first = await Promise.all(
      estate.apps.map((app) =>
        enqueueRotation(rotator.queues.rotation, config.worker, {
          appId: app.appId,
          forced: false,
          origin: 'operator',
        }),
      ),
    );
    expect(first.every((state) => state === 'queued')).toBe(true);
    const again = await Promise.all(
      estate.apps.map((app) =>
        enqueueRotation(rotator.queues.rotation, config.worker, {
          appId: app.appId,
          forced: false,
          origin: 'operator',
        }),
      ),
    );
    expect(again.filter((state) => state === 'queued')).toEqual([]);

    // Done: every ledger record has a result and no rotation in flight, and no rotate job is left.
    const records = await waitFor(
      'every target to have a last result and nothing in flight',
      async () => {
        const found = await rotator.records(estate.apps);
        const done = estate.apps.every((app) => {
          const record = found.get(app.appId);
          return record?.lastResult !== undefined && record.inFlight === undefined;
        });
        return done ? found : undefined;
      },
      40_000,
      200,
    );
    await waitFor(
      'the rotation queue to drain',
      async () => {
        const counts = await rotator.queues.rotation.getJobCounts('active', 'waiting', 'prioritized');
        return (counts.active ?? 0) + (counts.waiting ?? 0) + (counts.prioritized ?? 0) === 0
          ? true
          : undefined;
      },
      10_000,
    );
    const rotatedAt = performance.now();

    // Exactly once: per app one successful addPassword and one managed key; every result 'rotated'.
    const outcomes = estate.apps.map((app) => records.get(app.appId)?.lastResult?.outcome);
    expect(outcomes.filter((outcome) => outcome !== 'rotated')).toEqual([]);
    const adds = estate.apps.map((app) => addPasswordCalls(estate.entra, app));
    expect(adds.filter((count) => count !== 1)).toEqual([]);
    for (const app of estate.apps) {
      const managed = managedKeys(estate.entra, app.appId);
      expect(managed, `managed keys of ${app.name}`).toHaveLength(1);
      expect(records.get(app.appId)?.currentKeyId).toBe(managed[0]?.keyId);
    }
    expectConsistent(estate, estate.apps);
    expect(await rotator.queues.deadLetters.count()).toBe(0);

    // Spread: more than one replica finished rotations, and together they finished each target once.
    const finishedBy = workers.map((worker) => worker.logs.filter(hasMsg('rotation finished')));
    const finishedApps = finishedBy.flat().map((line) => String(line.appId));
    expect(finishedApps.sort()).toEqual(estate.apps.map((app) => app.appId).sort());
    expect(finishedBy.filter((lines) => lines.length > 0).length).toBeGreaterThan(1);
    // A lock conflict would be retried, but none should even happen: one job per app.
    const lockConflicts = workers.flatMap((worker) =>
      worker.stdout.filter((line) => line.includes('ROT_ERR_ROTATION_LOCKED')),
    );
    const problems = workers.flatMap((worker) =>
      worker.logs.filter((line) => line.level === 'error' || line.level === 'fatal'),
    );
    expect(problems).toEqual([]);

    // Shared Qualys calls: one update call carries the pushes of many targets.
    const pairs = estate.apps.reduce((sum, app) => sum + app.connectors.length, 0);
    const qualysCalls = {
      update: estate.qualys.callCount('update'),
      register: estate.qualys.callCount('register'),
      sync: estate.qualys.callCount('sync'),
      list: estate.qualys.callCount('list'),
      auth: estate.qualys.callCount('auth'),
    };
    expect(qualysCalls.update).toBeGreaterThan(0);
    expect(qualysCalls.update).toBeLessThan(TARGETS);
    expect(qualysCalls.register).toBe(0);

    // SIGTERM: each replica stops with nothing active and exits 0.
    const stopping = performance.now();
    for (const worker of workers) worker.signal('SIGTERM');
    const exits = await Promise.all(workers.map((worker) => worker.exited));
    for (const [index, exit] of exits.entries()) {
      expect(exit, workers[index]!.tail()).toMatchObject({ code: 0, signal: null });
      expect(workers[index]!.logs.find(hasMsg('stopped'))).toMatchObject({ forced: false });
    }
    const stoppedAt = performance.now();

    expectNoSecrets(
      {
        stdout: workers.flatMap((worker) => worker.stdout),
        stderr: workers.flatMap((worker) => worker.stderr),
      },
      estate.knownSecrets(),
    );

    console.info(
      JSON.stringify({
        targets: TARGETS,
        pairs,
        rotationsFinishedPerReplica: finishedBy.map((lines) => lines.length),
        lockConflictLogLines: lockConflicts.length,
        qualysCalls,
        timingsMs: {
          startToReady: Math.round(readyAt - started),
          enqueueToAllRotated: Math.round(rotatedAt - readyAt),
          sigtermToAllExited: Math.round(stoppedAt - stopping),
        },
      }),
    );
  }, 60_000);
});
