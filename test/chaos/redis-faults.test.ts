import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { ROTATION_QUEUE, rotateJobId } from '../../src/queue/job-data.ts';
import { enqueueRotation } from '../../src/queue/rotation-queue.ts';
import { UNKNOWN_KEY } from '../../src/rotation/ledger-model.ts';
import { expectNoSecrets } from '../support/leak-scan.ts';
import { freePort, startRedisServer, type RedisServerHandle } from '../support/redis-server.ts';
import {
  addPasswordCalls,
  connectRotatorRedis,
  expectConsistent,
  managedKeys,
  startEstate,
  waitFor,
  type Estate,
  type EstateApp,
  type RotatorRedis,
} from '../support/worker-estate.ts';
import {
  getHealth,
  hasMsg,
  spawnWorker,
  waitUntilReady,
  type LogLine,
  type WorkerProcess,
} from '../support/worker-process.ts';
import { sleep } from '../../src/util/sleep.ts';

/**
 * Redis goes away under a real `rotator worker` process, and comes back:
 *
 * - restarted mid-rotation (its own redis-server, AOF with fsync on every write, restarted on the same
 *   port and data directory): the worker reconnects by itself, /readyz says 503 meanwhile, the outage
 *   is logged once when it starts and once when it ends, and every target ends rotated with no job,
 *   ledger record or managed key lost or left behind;
 * - absent at start-up: the worker serves /livez, answers 503 on /readyz naming Redis, says once that
 *   Redis is unreachable and that it keeps trying, and starts (and rotates) when Redis comes; a SIGTERM
 *   while it waits stops it cleanly.
 */

const PERSISTENT = ['--appendonly', 'yes', '--appendfsync', 'always'];

/** Sections every configuration here shares: fast retries, quick readiness polls. */
const COMMON = {
  azure: { readinessPollInterval: '100ms' },
  worker: { backoffBase: '200ms', backoffMax: '1s' },
  logging: { level: 'info' },
};

const dirs: string[] = [];
const servers: RedisServerHandle[] = [];
const workers: WorkerProcess[] = [];
const connections: RotatorRedis[] = [];
let restartEstate: Estate;
let lateEstate: Estate;
let latePort: number;

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rotator-redis-faults-'));
  dirs.push(dir);
  return dir;
}

async function redisServer(port: number, dir: string): Promise<RedisServerHandle> {
  const server = await startRedisServer(PERSISTENT, { port, dir });
  servers.push(server);
  return server;
}

function start(file: string): WorkerProcess {
  const worker = spawnWorker(file);
  workers.push(worker);
  return worker;
}

/** The test's own view of the rotator's Redis; while Redis is away its queues stay quiet. */
function connect(redisUrl: string, keyPrefix: string): RotatorRedis {
  const rotator = connectRotatorRedis(redisUrl, keyPrefix);
  const quiet = () => undefined;
  rotator.redis.on('error', quiet);
  rotator.queues.rotation.on('error', quiet);
  rotator.queues.deadLetters.queue.on('error', quiet);
  connections.push(rotator);
  return rotator;
}

/** Every configured connector holds the app's current key per the ledger, and nothing is in flight. */
async function expectLedgerMatches(rotator: RotatorRedis, estate: Estate, apps: readonly EstateApp[]) {
  const records = await rotator.records(apps);
  for (const app of apps) {
    const record = records.get(app.appId);
    expect(record, `the ledger record of ${app.name}`).toBeDefined();
    const keys = managedKeys(estate.entra, app.appId);
    expect(record?.lastResult?.outcome, app.name).toBe('rotated');
    expect(record?.inFlight, app.name).toBeUndefined();
    expect(record?.currentKeyId, `${app.name}: the ledger's current key is the one in Entra`).toBe(
      keys[0]?.keyId,
    );
    for (const connector of app.connectors) {
      expect(record?.connectors[connector], `${app.name}, connector ${connector}`).toMatchObject({
        keyId: record?.currentKeyId,
        mayHold: [],
      });
      expect(record?.connectors[connector]?.keyId).not.toBe(UNKNOWN_KEY);
      // The connector holds a secret the rotator pushed (not the hand-made one it started with).
      const secret = estate.qualys.storedSecret(connector, app.appId);
      expect(secret !== undefined && estate.qualys.receivedSecrets().includes(secret)).toBe(true);
    }
  }
}

/** BullMQ's event stream of the rotation queue: the jobs that completed. */
async function completedJobIds(rotator: RotatorRedis, keyPrefix: string): Promise<Set<string>> {
  const events = await rotator.redis.xrange(`${keyPrefix}:${ROTATION_QUEUE}:events`, '-', '+');
  const completed = new Set<string>();
  for (const [, fields] of events) {
    const event: Record<string, string> = {};
    for (let index = 0; index + 1 < fields.length; index += 2) event[fields[index]!] = fields[index + 1]!;
    if (event.event === 'completed' && event.jobId !== undefined) completed.add(event.jobId);
  }
  return completed;
}

const isErrorLine = (line: LogLine) => line.level === 'error' || line.level === 'fatal';

beforeAll(async () => {
  const tls = { cert: inject('tlsCert'), key: inject('tlsKey') };
  const restartPort = await freePort();
  const redis = await redisServer(restartPort, await dataDir());
  latePort = await freePort();
  [restartEstate, lateEstate] = await Promise.all([
    startEstate({
      tls,
      redisUrl: redis.url,
      connectorsOf: [2, 1, 1, 2, 1, 1, 2, 1, 1, 1],
      // The readiness step waits this long for each new key: rotations are in flight when Redis stops.
      propagationDelayMs: 3_000,
      label: 'redis-restart',
    }),
    startEstate({
      tls,
      redisUrl: `redis://127.0.0.1:${latePort}`,
      connectorsOf: [2],
      propagationDelayMs: 0,
      label: 'redis-late',
    }),
  ]);
});

afterAll(async () => {
  for (const worker of workers) worker.kill();
  await Promise.all(workers.map((worker) => worker.exited));
  for (const connection of connections) await connection.close();
  await restartEstate.close();
  await lateEstate.close();
  for (const server of servers) await server.stop();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('Redis faults', () => {
  it('Redis restarted mid-rotation: the worker reconnects by itself and every target ends rotated', async () => {
    const started = performance.now();
    const estate = restartEstate;
    const { file, keyPrefix } = estate.writeConfig(COMMON);
    const config = loadConfig({ path: file, env: {} });
    const rotator = connect(estate.redisUrl, keyPrefix);
    const worker = start(file);
    const url = await worker.url();
    await waitUntilReady(url, 15_000);

    for (const app of estate.apps) {
      expect(
        await enqueueRotation(rotator.queues.rotation, config.worker, {
          appId: app.appId,
          forced: false,
          origin: 'operator',
        }),
      ).toBe('queued');
    }
    // Several new keys made and waiting for Entra to accept them (3 s): stop Redis now.
    await waitFor(
      'three rotations in flight',
      () => (worker.logs.filter(hasMsg('new key created')).length >= 3 ? true : undefined),
      15_000,
      20,
    );
    const inFlightAtStop = [...(await rotator.records(estate.apps)).values()].filter(
      (record) => record.inFlight !== undefined,
    ).length;
    const linesBefore = worker.logs.length;
    const stderrBefore = worker.stderr.length;
    const port = servers[0]!.port;
    const dir = servers[0]!.dir;
    await servers[0]!.stop();
    const downAt = performance.now();

    // /readyz says 503, naming Redis, for as long as it is away.
    const whileDown: { status: number; redis: unknown }[] = [];
    while (performance.now() - downAt < 2_000) {
      const { status, body } = await getHealth(url, '/readyz');
      whileDown.push({ status, redis: (body as { checks?: { redis?: unknown } }).checks?.redis });
      await sleep(100);
    }
    expect(whileDown.length).toBeGreaterThan(5);
    // The first probe may come before the worker noticed the closed socket.
    for (const probe of whileDown.slice(2)) {
      expect(probe.status).toBe(503);
      expect(probe.redis).toMatch(/^redis is (?!ready)\w+/);
    }
    expect(whileDown.some((probe) => String(probe.redis).includes('ECONNREFUSED'))).toBe(true);

    servers.push(await startRedisServer(PERSISTENT, { port, dir }));
    const upAt = performance.now();
    await waitUntilReady(url, 20_000);
    const readyAfterMs = performance.now() - upAt;
    expect(worker.exit(), 'the worker was not restarted: it never exited').toBeUndefined();

    // The outage in the log: one line when it started, one when it ended; no flood of retries.
    const outageLines = worker.logs.slice(linesBefore);
    const lost = outageLines.filter((line) => String(line.msg).startsWith('Redis connection lost'));
    const back = outageLines.filter((line) => String(line.msg).startsWith('Redis reachable again'));
    expect(lost, worker.tail()).toHaveLength(1);
    expect(lost[0]).toMatchObject({
      level: 'error',
      component: 'redis',
      reason: expect.stringMatching(/ECONNREFUSED/) as unknown,
    });
    expect(back).toHaveLength(1);
    expect(back[0]).toMatchObject({ level: 'info', component: 'redis' });
    const lostAt = Date.parse(String(lost[0]!.time));
    const backAt = Date.parse(String(back[0]!.time));
    const errorsDuringOutage = outageLines.filter(
      (line) => isErrorLine(line) && Date.parse(String(line.time)) <= backAt,
    );
    expect(errorsDuringOutage.map((line) => line.msg)).toEqual([lost[0]!.msg]);
    expect(worker.stderr.slice(stderrBefore), 'nothing on stderr').toEqual([]);

    // Every target ends rotated; rotations that lost their lock in the outage were retried.
    await waitFor(
      'every target rotated, nothing in flight',
      async () => {
        const records = await rotator.records(estate.apps);
        const done = [...records.values()].filter(
          (record) => record.lastResult?.outcome === 'rotated' && record.inFlight === undefined,
        );
        return done.length === estate.apps.length ? true : undefined;
      },
      45_000,
      200,
    );
    // Through the simulators: each connector holds a secret Entra accepts, one managed key per app
    // (gracePeriod 0s, keepPrevious 0: nothing orphaned).
    await waitFor(
      'retirements done',
      () =>
        estate.apps.every((app) => managedKeys(estate.entra, app.appId).length === 1) ? true : undefined,
      10_000,
    );
    expectConsistent(estate, estate.apps);
    await expectLedgerMatches(rotator, estate, estate.apps);

    // No job lost: every rotate job completed (BullMQ's event stream survived the restart), none
    // failed, none left behind; nothing dead-lettered.
    const completed = await completedJobIds(rotator, keyPrefix);
    for (const app of estate.apps) {
      expect(completed.has(rotateJobId(app.appId)), `the rotate job of ${app.name} completed`).toBe(true);
      expect(await rotator.queues.rotation.getJob(rotateJobId(app.appId))).toBeUndefined();
    }
    const counts = await rotator.queues.rotation.getJobCounts('active', 'waiting', 'failed', 'delayed');
    expect(counts).toMatchObject({ active: 0, waiting: 0, failed: 0 });
    const left = (await rotator.queues.rotation.getJobs(['delayed'])).map((job) => job.name);
    expect(
      left.filter((name) => name === 'rotate'),
      'no rotate job left',
    ).toEqual([]);
    expect(await rotator.queues.deadLetters.list()).toEqual([]);

    expectNoSecrets({ stdout: worker.stdout, stderr: worker.stderr }, estate.knownSecrets());

    worker.signal('SIGTERM');
    expect(await worker.exited, worker.tail()).toMatchObject({ code: 0, signal: null });
    const retried = estate.apps.filter((app) => addPasswordCalls(estate.entra, app) > 1).length;
    console.info(
      JSON.stringify({
        case: 'redis restarted mid-rotation',
        targets: estate.apps.length,
        inFlightAtStop,
        outageMs: Math.round(upAt - downAt),
        loggedOutageSeconds: (backAt - lostAt) / 1000,
        readyAfterRestartMs: Math.round(readyAfterMs),
        readyzProbesWhileDown: whileDown.length,
        targetsRotatedTwice: retried,
        leftDelayedJobs: left,
        errorLinesDuringOutage: errorsDuringOutage.length,
        wallMs: Math.round(performance.now() - started),
      }),
    );
  }, 90_000);

  it('Redis down at start-up: the worker waits, says so once, and starts when Redis comes', async () => {
    const started = performance.now();
    const estate = lateEstate;
    const app = estate.apps[0]!;
    // The sweep runs every second: once up, the worker finds the due target on its own.
    const { file, keyPrefix } = estate.writeConfig({
      ...COMMON,
      rotation: { schedule: '* * * * * *' },
    });

    // A SIGTERM while the worker waits for Redis stops it cleanly.
    const stopped = start(file);
    await stopped.waitForLog((line) => String(line.msg).startsWith('Redis is unreachable'), 15_000);
    const signalled = performance.now();
    stopped.signal('SIGTERM');
    expect(await stopped.exited, stopped.tail()).toMatchObject({ code: 0, signal: null });
    const sigtermToExitMs = performance.now() - signalled;
    expect(sigtermToExitMs).toBeLessThan(5_000);

    const worker = start(file);
    const url = await worker.url();
    expect(await getHealth(url, '/livez')).toEqual({ status: 200, body: { status: 'ok' } });
    const notReady = await waitFor(
      '/readyz to give the reason',
      async () => {
        const { status, body } = await getHealth(url, '/readyz');
        expect(status).toBe(503);
        const checks = (body as { checks: Record<string, unknown> }).checks;
        return String(checks.redis).includes('ECONNREFUSED') ? checks : undefined;
      },
      10_000,
    );
    expect(notReady).toMatchObject({
      redis: expect.stringMatching(/^redis is \w+: connect ECONNREFUSED 127\.0\.0\.1:\d+$/) as unknown,
      schedulers: 'not registered yet',
      worker: 'not running',
    });
    // Several reconnection attempts later (ioredis retries every 2 s at most), still one line.
    await sleep(4_000);
    expect(worker.exit(), 'the worker waits for Redis; it does not give up').toBeUndefined();
    const unreachable = worker.logs.filter((line) => String(line.msg).startsWith('Redis is unreachable'));
    expect(unreachable, worker.tail()).toHaveLength(1);
    expect(unreachable[0]).toMatchObject({
      level: 'error',
      component: 'redis',
      reason: expect.stringMatching(/ECONNREFUSED/) as unknown,
    });
    expect(String(unreachable[0]!.msg)).toMatch(/keeps trying/);
    expect(worker.logs.filter(isErrorLine)).toHaveLength(1);
    expect(worker.stderr).toEqual([]);

    const dir = await dataDir();
    await redisServer(latePort, dir);
    const upAt = performance.now();
    await waitUntilReady(url, 20_000);
    const readyAfterMs = performance.now() - upAt;
    expect(worker.logs.filter((line) => String(line.msg).startsWith('Redis reachable again'))).toHaveLength(
      1,
    );
    await worker.waitForLog(hasMsg('worker started'), 5_000);

    const rotator = connect(estate.redisUrl, keyPrefix);
    await waitFor(
      `${app.name} rotated`,
      async () => {
        const record = await rotator.ledger.read(app.appId);
        return record?.lastResult?.outcome === 'rotated' && record.inFlight === undefined ? true : undefined;
      },
      20_000,
      100,
    );
    expectConsistent(estate, [app]);
    await expectLedgerMatches(rotator, estate, [app]);
    expect(worker.logs.filter(isErrorLine)).toHaveLength(1);
    expectNoSecrets(
      { stdout: [...stopped.stdout, ...worker.stdout], stderr: [...stopped.stderr, ...worker.stderr] },
      estate.knownSecrets(),
    );

    worker.signal('SIGTERM');
    expect(await worker.exited, worker.tail()).toMatchObject({ code: 0, signal: null });
    console.info(
      JSON.stringify({
        case: 'redis down at start-up',
        sigtermWhileWaitingToExitMs: Math.round(sigtermToExitMs),
        readyAfterRedisStartedMs: Math.round(readyAfterMs),
        wallMs: Math.round(performance.now() - started),
      }),
    );
  }, 60_000);
});
