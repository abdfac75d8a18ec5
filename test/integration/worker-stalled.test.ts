import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import type { DeadLetterItem } from '../../src/queue/dead-letters.ts';
import { deadLetterId } from '../../src/queue/dead-letters.ts';
import { rotateJobId } from '../../src/queue/job-data.ts';
import { enqueueRotation } from '../../src/queue/rotation-queue.ts';
import { expectNoSecrets } from '../support/leak-scan.ts';
import { runRotator, type RotatorRun } from '../support/rotator-process.ts';
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
import { hasMsg, spawnWorker, waitUntilReady, type WorkerProcess } from '../support/worker-process.ts';

/**
 * A rotate job whose worker dies (SIGKILL) more than `worker.maxStalledCount` times is failed by BullMQ
 * without the processor ever seeing it: the worker dead-letters it (ROT_ERR_STALLED, with the step and
 * rotation id the interrupted rotation reached) instead of dropping it, and `rotator dlq replay` then
 * finishes the job: the next run undoes the interrupted rotation and rotates.
 */

let estate: Estate;
let rotator: RotatorRedis;
const workers: WorkerProcess[] = [];
const outputs: RotatorRun[] = [];

beforeAll(async () => {
  estate = await startEstate({
    tls: { cert: inject('tlsCert'), key: inject('tlsKey') },
    redisUrl: inject('redisUrl'),
    connectorsOf: [2],
    // Slow enough to kill the worker while it waits for Entra to accept the new key.
    propagationDelayMs: 2_000,
    label: 'stalled',
  });
}, 30_000);

afterAll(async () => {
  for (const worker of workers) worker.kill();
  await Promise.all(workers.map((worker) => worker.exited));
  await rotator.close();
  await estate.close();
});

function start(file: string): WorkerProcess {
  const worker = spawnWorker(file);
  workers.push(worker);
  return worker;
}

describe('a rotate job that stalls more than worker.maxStalledCount times', () => {
  it('is dead-lettered with ROT_ERR_STALLED, and a replay finishes the rotation', async () => {
    const app = estate.apps[0]!;
    const { file, keyPrefix } = estate.writeConfig({
      azure: { readinessPollInterval: '100ms' },
      logging: { level: 'debug' },
      rotation: { lockTtl: '1s', schedule: '0 0 1 1 *' },
      // No stall allowed, and the stall noticed within about 2 s of the crash.
      worker: {
        maxStalledCount: 0,
        lockDuration: '1s',
        stalledInterval: '500ms',
        backoffBase: '100ms',
        backoffMax: '1s',
      },
    });
    rotator = connectRotatorRedis(estate.redisUrl, keyPrefix);
    const config = loadConfig({ path: file, env: {} });
    expect(config.worker).toMatchObject({
      maxStalledCount: 0,
      lockDurationMs: 1_000,
      stalledIntervalMs: 500,
    });

    const first = start(file);
    await waitUntilReady(await first.url(), 15_000);
    expect(
      await enqueueRotation(rotator.queues.rotation, config.worker, {
        appId: app.appId,
        forced: false,
        origin: 'operator',
      }),
    ).toBe('queued');
    const created = await first.waitForLog(
      (line) => line.msg === 'new key created' && line.appId === app.appId,
      15_000,
      'the created checkpoint',
    );
    first.signal('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    const interrupted = (await rotator.ledger.read(app.appId))?.inFlight;
    expect(interrupted?.step).toMatch(/^(created|ready)$/);

    // The next worker finds the job stalled once (> 0): BullMQ fails it, the worker dead-letters it.
    const second = start(file);
    await waitUntilReady(await second.url(), 15_000);
    const logged = await second.waitForLog(
      hasMsg('rotation dead-lettered: its job stalled too often', { appId: app.appId }),
      15_000,
      'the stalled job dead-lettered',
    );
    expect(logged).toMatchObject({ jobId: rotateJobId(app.appId), stalls: 1 });
    const item = await waitFor(
      'the dead letter',
      () => rotator.queues.deadLetters.get(deadLetterId(app.appId, undefined)),
      5_000,
    );
    expect(item).toMatchObject<Partial<DeadLetterItem>>({
      appId: app.appId,
      targetName: app.name,
      connectors: [...app.connectors],
      errorCode: 'ROT_ERR_STALLED',
      step: interrupted?.step === 'created' ? 'ready' : 'push',
      rotationId: created.rotationId as string,
      attempts: 1,
    });
    expect(item.message).toMatch(/died mid-rotation/);
    expect(item.message).toMatch(/rotator dlq replay/);
    // BullMQ never ran the processor again: the interrupted rotation is still in flight, the job gone.
    expect(second.logs.filter(hasMsg('interrupted rotation compensated'))).toEqual([]);
    expect((await rotator.ledger.read(app.appId))?.inFlight?.rotationId).toBe(created.rotationId);
    expect(await rotator.queues.rotation.getJob(rotateJobId(app.appId))).toBeUndefined();

    const listed = await runRotator(['dlq', 'list', '--config', file, '--code', 'ROT_ERR_STALLED', '--json']);
    outputs.push(listed);
    expect(listed.code, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as { items: DeadLetterItem[] }).items.map((entry) => entry.id)).toEqual(
      [item.id],
    );

    // The replay: the next run removes the orphaned key by its name, then rotates.
    const replayed = await runRotator(['dlq', 'replay', '--all', '--config', file]);
    outputs.push(replayed);
    expect(replayed.code, replayed.stderr).toBe(0);
    await second.waitForLog(hasMsg('interrupted rotation compensated'), 15_000, 'the compensation');
    await waitFor(
      'the rotation to finish',
      async () => {
        const record = await rotator.ledger.read(app.appId);
        return record?.lastResult?.outcome === 'rotated' && record.inFlight === undefined ? true : undefined;
      },
      20_000,
    );
    expect(addPasswordCalls(estate.entra, app)).toBe(2);
    expect(managedKeys(estate.entra, app.appId)).toHaveLength(1);
    expectConsistent(estate, [app]);
    expect(await rotator.queues.deadLetters.count()).toBe(0);

    second.signal('SIGTERM');
    expect(await second.exited, second.tail()).toMatchObject({ code: 0, signal: null });
    expectNoSecrets(
      {
        stdout: [...workers.flatMap((worker) => worker.stdout), ...outputs.map((run) => run.stdout)],
        stderr: [...workers.flatMap((worker) => worker.stderr), ...outputs.map((run) => run.stderr)],
      },
      estate.knownSecrets(),
    );
  }, 60_000);
});
