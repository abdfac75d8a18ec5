import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { ROTATION_QUEUE, rotateJobId } from '../../src/queue/job-data.ts';
import { enqueueRotation } from '../../src/queue/rotation-queue.ts';
import type { TargetRecord } from '../../src/rotation/ledger-model.ts';
import { expectNoSecrets } from '../support/leak-scan.ts';
import {
  addPasswordCalls,
  connectRotatorRedis,
  expectConsistent,
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

/**
 * How a real `rotator worker` process stops: on SIGTERM it takes no new job and lets the active
 * rotation finish within `worker.shutdownTimeout`, then exits 0; past the timeout it stops the rotation
 * at its last checkpoint and exits 0, and the next worker finishes or undoes it; a second signal exits
 * at once with 1; and a rotation interrupted twice is still finished. Rotations are made slow by Entra's
 * propagation delay (the readiness step waits for it).
 *
 * A worker that died or was stopped mid-rotation leaves its job active in BullMQ until the job's lock
 * expires (lockDuration, 30 s) and the stalled checker has seen it twice (stalledInterval, 30 s): about
 * a minute. `expireAbandonedJobLocks` fast-forwards that, so each test stays within seconds.
 */

let slow: Estate; // 3 s propagation
let slower: Estate; // 4 s propagation
let hung: Estate; // no propagation delay; its Qualys update call hangs
const workers: WorkerProcess[] = [];
const connections: RotatorRedis[] = [];

/** Sections every configuration here shares: debug logs (the `created` checkpoint), fast retries. */
const COMMON = {
  azure: { readinessPollInterval: '100ms' },
  logging: { level: 'debug' },
  rotation: { lockTtl: '1s' },
  worker: { backoffBase: '100ms', backoffMax: '1s' },
};

function start(file: string): WorkerProcess {
  const worker = spawnWorker(file);
  workers.push(worker);
  return worker;
}

function setUp(
  estate: Estate,
  apps: readonly EstateApp[],
  shutdownTimeout: string,
  extra: Record<string, unknown> = {},
) {
  const { file, keyPrefix } = estate.writeConfig(
    { ...COMMON, worker: { ...COMMON.worker, shutdownTimeout }, ...extra },
    apps,
  );
  const rotator = connectRotatorRedis(estate.redisUrl, keyPrefix);
  connections.push(rotator);
  const config = loadConfig({ path: file, env: {} });
  const enqueue = (app: EstateApp) =>
    enqueueRotation(rotator.queues.rotation, config.worker, {
      appId: app.appId,
      forced: false,
      origin: 'operator',
    });
  return { file, keyPrefix, rotator, enqueue };
}

const isCreated = (app: EstateApp) => (line: LogLine) =>
  line.msg === 'new key created' && line.appId === app.appId;

async function settled(rotator: RotatorRedis, app: EstateApp, timeoutMs: number): Promise<TargetRecord> {
  return waitFor(
    `${app.name} to be rotated with nothing in flight`,
    async () => {
      const record = await rotator.ledger.read(app.appId);
      return record?.lastResult?.outcome === 'rotated' && record.inFlight === undefined ? record : undefined;
    },
    timeoutMs,
    100,
  );
}

/** The target's ledger lock, left by a process that did not release it, expires (lockTtl 1 s). */
async function lockReleased(rotator: RotatorRedis, keyPrefix: string, app: EstateApp): Promise<void> {
  await waitFor(
    'the rotation lock to expire',
    async () =>
      (await rotator.redis.exists(`${keyPrefix}:ledger:lock:${app.appId}`)) === 0 ? true : undefined,
    5_000,
  );
}

function indexOf(worker: WorkerProcess, match: (line: LogLine) => boolean): number {
  return worker.logs.findIndex(match);
}

beforeAll(async () => {
  const tls = { cert: inject('tlsCert'), key: inject('tlsKey') };
  [slow, slower, hung] = await Promise.all([
    startEstate({
      tls,
      redisUrl: inject('redisUrl'),
      connectorsOf: [2, 1, 2, 1],
      propagationDelayMs: 3_000,
      label: 'shutdown',
    }),
    startEstate({
      tls,
      redisUrl: inject('redisUrl'),
      connectorsOf: [2],
      propagationDelayMs: 4_000,
      label: 'forced',
    }),
    startEstate({
      tls,
      redisUrl: inject('redisUrl'),
      connectorsOf: [1],
      propagationDelayMs: 0,
      label: 'hung',
    }),
  ]);
}, 30_000);

afterAll(async () => {
  for (const worker of workers) worker.kill();
  await Promise.all(workers.map((worker) => worker.exited));
  for (const connection of connections) await connection.close();
  await slow.close();
  await slower.close();
  await hung.close();
});

describe('rotator worker: health and shutdown', () => {
  it('serves /livez and /readyz; on SIGTERM finishes the active rotation, takes no new job, exits 0', async () => {
    const [busy, later] = [slow.apps[0]!, slow.apps[1]!];
    const { file, rotator, enqueue } = setUp(slow, [busy, later], '10s');
    const worker = start(file);

    const url = await worker.url();
    expect(await getHealth(url, '/livez')).toEqual({ status: 200, body: { status: 'ok' } });
    await waitUntilReady(url, 15_000);
    expect(await getHealth(url, '/readyz')).toEqual({
      status: 200,
      body: { status: 'ready', checks: { redis: true, schedulers: true, worker: true } },
    });
    expect((await getHealth(url, '/nowhere')).status).toBe(404);

    expect(await enqueue(busy)).toBe('queued');
    await worker.waitForLog(isCreated(busy), 15_000, `the created checkpoint of ${busy.name}`);
    const signalled = performance.now();
    worker.signal('SIGTERM');
    await worker.waitForLog(hasMsg('stopping: no new jobs; waiting for active rotations'), 5_000, 'the stop');
    // Queued once the worker has stopped taking jobs, it must stay queued. (In the first milliseconds
    // of the stop, before BullMQ has cut its blocking fetch, a job can still be taken.)
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await enqueue(later)).toBe('queued');

    const exit = await worker.exited;
    expect(exit, worker.tail()).toMatchObject({ code: 0, signal: null });
    const finished = indexOf(worker, (line) => line.msg === 'rotation finished' && line.appId === busy.appId);
    const stopped = indexOf(worker, hasMsg('stopped'));
    expect(finished, 'the active rotation finished before the process stopped').toBeGreaterThan(-1);
    expect(finished).toBeLessThan(stopped);
    expect(worker.logs[stopped]).toMatchObject({ forced: false });
    // It waited for the readiness of the new key (~3 s), well inside the 10 s allowed.
    const waitedMs = exit.at - signalled;
    expect(waitedMs).toBeGreaterThan(1_000);
    expect(waitedMs).toBeLessThan(10_000);

    const record = await settled(rotator, busy, 1_000);
    expect(record.lastResult?.outcome).toBe('rotated');
    expect(addPasswordCalls(slow.entra, busy)).toBe(1);
    expectConsistent(slow, [busy]);
    // The job queued during the shutdown was not taken: no ledger record, still waiting.
    expect(await rotator.ledger.read(later.appId)).toBeUndefined();
    expect(await (await rotator.queues.rotation.getJob(rotateJobId(later.appId)))?.getState()).toBe(
      'waiting',
    );
    expect(addPasswordCalls(slow.entra, later)).toBe(0);
    console.info(JSON.stringify({ case: 'graceful', sigtermToExitMs: Math.round(waitedMs) }));
  }, 30_000);

  it('past worker.shutdownTimeout stops the rotation at its checkpoint, exits 0, and the next worker recovers it', async () => {
    const app = slower.apps[0]!;
    const { file, keyPrefix, rotator, enqueue } = setUp(slower, [app], '500ms');
    const first = start(file);
    await waitUntilReady(await first.url(), 15_000);

    expect(await enqueue(app)).toBe('queued');
    await first.waitForLog(isCreated(app), 15_000, 'the created checkpoint');
    const signalled = performance.now();
    first.signal('SIGTERM');
    const exit = await first.exited;
    const stopMs = exit.at - signalled;
    expect(exit, first.tail()).toMatchObject({ code: 0, signal: null });
    expect(first.logs.find(hasMsg('stopped'))).toMatchObject({ forced: true });
    // The 500 ms timeout (plus closing connections) bounds the stop, not the 4 s the key takes to propagate.
    expect.soft(stopMs, 'SIGTERM to exit, with shutdownTimeout 500ms').toBeLessThan(2_500);
    const timedOut = indexOf(first, (line) =>
      String(line.msg).startsWith('active rotations did not finish in time'),
    );
    const finishedAnyway = indexOf(first, hasMsg('rotation finished'));
    expect.soft(timedOut).toBeGreaterThan(-1);
    expect.soft(finishedAnyway, 'the rotation went on to its end after the timeout').toBe(-1);

    // What the stop left: the rotation in flight in the ledger and its job active in BullMQ (stopped
    // at a checkpoint), or neither (the rotation undone and its job handed back to the queue).
    const left = await rotator.ledger.read(app.appId);
    const interrupted = left?.inFlight !== undefined;
    await lockReleased(rotator, keyPrefix, app);
    const abandoned = await rotator.expireAbandonedJobLocks();
    expect(abandoned).toEqual(interrupted ? [rotateJobId(app.appId)] : []);

    const second = start(file);
    // SIGTERM before the worker is up (signal handlers installed) kills it by the signal: wait for it.
    await waitUntilReady(await second.url(), 15_000);
    const record = await settled(rotator, app, 25_000);
    if (interrupted) {
      // The key created before the stop never reached a connector: the next worker removes it.
      const compensated = await second.waitForLog(hasMsg('interrupted rotation compensated'), 5_000);
      expect(compensated.removedKeys).toHaveLength(1);
    }
    if (finishedAnyway === -1) {
      // The stopped rotation's key is gone (removed at the stop or by the recovery); the next made one.
      await second.waitForLog(
        (line) => line.msg === 'rotation finished' && line.appId === app.appId,
        5_000,
        'the rotation by the next worker',
      );
      expect(addPasswordCalls(slower.entra, app)).toBe(2);
    }
    expect(record.lastResult?.outcome).toBe('rotated');
    expectConsistent(slower, [app]);
    expect(await rotator.queues.deadLetters.count(), 'a stop is not a failure to dead-letter').toBe(0);

    second.signal('SIGTERM');
    expect(await second.exited, second.tail()).toMatchObject({ code: 0, signal: null });
    console.info(
      JSON.stringify({
        case: 'forced',
        sigtermToExitMs: Math.round(stopMs),
        interruptedInFlight: interrupted,
      }),
    );
  }, 50_000);

  it('a second signal during the shutdown exits at once with 1; a restart recovers', async () => {
    const app = slow.apps[2]!;
    const { file, keyPrefix, rotator, enqueue } = setUp(slow, [app], '10s');
    const first = start(file);
    await waitUntilReady(await first.url(), 15_000);

    expect(await enqueue(app)).toBe('queued');
    await first.waitForLog(isCreated(app), 15_000, 'the created checkpoint');
    first.signal('SIGTERM');
    await first.waitForLog(hasMsg('signal received: shutting down'), 5_000, 'the first signal');
    const signalled = performance.now();
    first.signal('SIGINT');
    const exit = await first.exited;
    const exitMs = exit.at - signalled;
    expect(exit, first.tail()).toMatchObject({ code: 1, signal: null });
    expect(first.logs.find(hasMsg('second signal: exiting now'))).toMatchObject({ signal: 'SIGINT' });
    expect(first.logs.find(hasMsg('stopped'))).toBeUndefined();
    expect(exitMs).toBeLessThan(1_000);

    // The checkpoints make the hard exit safe: the next worker undoes the half-made rotation and rotates.
    expect((await rotator.ledger.read(app.appId))?.inFlight?.step).toMatch(/^(created|ready)$/);
    await lockReleased(rotator, keyPrefix, app);
    expect(await rotator.expireAbandonedJobLocks()).toEqual([rotateJobId(app.appId)]);
    const second = start(file);
    await waitUntilReady(await second.url(), 15_000);
    await settled(rotator, app, 20_000);
    await second.waitForLog(hasMsg('interrupted rotation compensated'), 5_000);
    expect(addPasswordCalls(slow.entra, app)).toBe(2);
    expectConsistent(slow, [app]);
    second.signal('SIGTERM');
    expect(await second.exited, second.tail()).toMatchObject({ code: 0, signal: null });
    console.info(JSON.stringify({ case: 'second signal', secondSignalToExitMs: Math.round(exitMs) }));
  }, 40_000);

  it('a rotation cut short twice by a hard exit is still finished by the next worker', async () => {
    const app = slow.apps[3]!;
    const { file, keyPrefix, rotator, enqueue } = setUp(slow, [app], '10s');
    for (const round of [1, 2]) {
      const worker = start(file);
      await waitUntilReady(await worker.url(), 15_000);
      if (round === 1) expect(await enqueue(app)).toBe('queued');
      if (round === 2) await worker.waitForLog(hasMsg('interrupted rotation compensated'), 15_000);
      await worker.waitForLog(isCreated(app), 15_000, `the created checkpoint, round ${round}`);
      worker.signal('SIGTERM');
      await worker.waitForLog(hasMsg('signal received: shutting down'), 5_000, 'the first signal');
      worker.signal('SIGINT');
      expect((await worker.exited).code).toBe(1);
      await lockReleased(rotator, keyPrefix, app);
      // Each time, BullMQ's stalled checker (fast-forwarded) is what hands the job to the next worker.
      expect(await rotator.expireAbandonedJobLocks()).toEqual([rotateJobId(app.appId)]);
    }
    expect((await rotator.ledger.read(app.appId))?.inFlight).toBeDefined();

    const third = start(file);
    await waitUntilReady(await third.url(), 15_000);
    // BullMQ fails a job that stalled more than maxStalledCount (1) times without running the processor:
    // no rotation, no dead letter, and (removeOnFail) no job left; only the hourly sweep would find it.
    const finished = await settled(rotator, app, 8_000).then(
      () => true,
      () => false,
    );
    const job = await rotator.queues.rotation.getJob(rotateJobId(app.appId));
    const events = await rotator.redis.xrange(`${keyPrefix}:${ROTATION_QUEUE}:events`, '-', '+');
    const failures = events
      .map(([, fields]) => {
        const event: Record<string, string> = {};
        for (let index = 0; index + 1 < fields.length; index += 2) event[fields[index]!] = fields[index + 1]!;
        return event;
      })
      .filter((event) => event.event === 'failed' && event.jobId === rotateJobId(app.appId))
      .map((event) => event.failedReason);
    expect.soft(finished, 'the target is rotated after two interrupted attempts').toBe(true);
    expect.soft(failures, 'BullMQ failed the rotate job').toEqual([]);
    if (!finished) {
      expect.soft(job, 'a rotate job is left for the target').toBeDefined();
      expect.soft(await rotator.queues.deadLetters.count(), 'a dead letter says why').toBeGreaterThan(0);
    } else {
      expectConsistent(slow, [app]);
    }
    third.signal('SIGTERM');
    expect(await third.exited, third.tail()).toMatchObject({ code: 0, signal: null });
  }, 45_000);

  it('a rotation stuck in an upstream call does not hold the stop past its bound', async () => {
    const app = hung.apps[0]!;
    // A push that never answers: the client gives up after 20 s, once (no retry).
    const qualysHttp = {
      retryBaseDelay: '10ms',
      retryMaxDelay: '50ms',
      headersTimeout: '20s',
      maxAttempts: 1,
    };
    const { file, rotator, enqueue } = setUp(hung, [app], '500ms', {
      qualys: { http: qualysHttp },
    });
    hung.qualys.setFaults({ hangNext: { count: 1, endpoints: ['update'] } });
    const worker = start(file);
    await waitUntilReady(await worker.url(), 15_000);

    expect(await enqueue(app)).toBe('queued');
    await waitFor(
      'the Qualys update call to hang',
      () =>
        hung.qualys.calls().some((call) => call.endpoint === 'update' && call.status === 0)
          ? true
          : undefined,
      15_000,
      20,
    );
    const signalled = performance.now();
    worker.signal('SIGTERM');
    // shutdownTimeout (500 ms), then at most the 10 s the worker gives aborted rotations to reach a
    // checkpoint (ABORT_GRACE_MS), then closing: never the 20 s of the hung call.
    const boundMs = 500 + 10_000 + 2_000;
    const exitedInTime = await Promise.race([
      worker.exited.then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), boundMs)),
    ]);
    const stopMs = Math.round(performance.now() - signalled);
    expect.soft(exitedInTime, `stopped within ${boundMs} ms of SIGTERM`).toBe(true);
    if (exitedInTime) {
      expect(worker.exit(), worker.tail()).toMatchObject({ code: 0, signal: null });
      expect(worker.logs.find(hasMsg('stopped'))).toMatchObject({ forced: true });
    } else {
      worker.kill();
      await worker.exited;
    }
    // Whichever way it ended, the push may have reached the connector: the ledger says so.
    const record = await rotator.ledger.read(app.appId);
    expect(record?.inFlight?.step ?? record?.rotateAgain).toBeTruthy();
    console.info(
      JSON.stringify({ case: 'hung upstream call', sigtermToExitMs: exitedInTime ? stopMs : `>${boundMs}` }),
    );
  }, 40_000);

  it('wrote no secret, password or token into any output', () => {
    expectNoSecrets(
      {
        stdout: workers.flatMap((worker) => worker.stdout),
        stderr: workers.flatMap((worker) => worker.stderr),
      },
      [...slow.knownSecrets(), ...slower.knownSecrets(), ...hung.knownSecrets()],
    );
  });
});
