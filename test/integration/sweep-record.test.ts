import { randomUUID } from 'node:crypto';
import { Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { RotatorConfig } from '../../src/config/types.ts';
import { RotatorMetrics } from '../../src/observability/metrics.ts';
import { ROTATION_QUEUE } from '../../src/queue/job-data.ts';
import { createProcessor, type ProcessorDeps } from '../../src/queue/processor.ts';
import { readLastSweep, recordSweep } from '../../src/queue/sweep-record.ts';
import type { LedgerPort } from '../../src/rotation/ports.ts';
import { captureLogger } from '../support/log-capture.ts';

/** The end of the last successful sweep, kept in Redis beside the rotation queue. */

const connections: Redis[] = [];
const queues: Queue[] = [];

function openQueue(prefix = `{sweep-${randomUUID().slice(0, 8)}}`): { queue: Queue; redis: Redis } {
  const redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
  connections.push(redis);
  const queue = new Queue(ROTATION_QUEUE, { connection: redis, prefix });
  queues.push(queue);
  return { queue, redis };
}

afterAll(async () => {
  await Promise.all(queues.map((queue) => queue.close()));
  for (const connection of connections) connection.disconnect();
});

/** Same counting helper as the metrics tests: the value of the one matching sample. */
function sample(body: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  const values = body
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .filter((line) => wanted.every((pair) => line.includes(pair)))
    .map((line) => Number(line.slice(line.lastIndexOf(' ') + 1)));
  if (values.length > 1) throw new Error(`${name} ${wanted.join(',')} matches ${values.length} samples`);
  return values[0];
}

describe('the sweep record', () => {
  it('is one key beside the queue, shared by every replica, and ignores what is not a time', async () => {
    const prefix = `{sweep-${randomUUID().slice(0, 8)}}`;
    const { queue: replicaA, redis } = openQueue(prefix);
    const { queue: replicaB } = openQueue(prefix);
    const key = `${prefix}:${ROTATION_QUEUE}:last-sweep`;

    expect(await readLastSweep(replicaB)).toBeUndefined();
    await recordSweep(replicaA, 1_767_225_600_123);
    expect(await redis.get(key)).toBe('1767225600123');
    expect(await readLastSweep(replicaB)).toBe(1_767_225_600_123);

    for (const garbage of ['', 'soon', '12abc', '-5', '1e3', 'NaN', 'Infinity', ' 12']) {
      await redis.set(key, garbage);
      expect(await readLastSweep(replicaB), JSON.stringify(garbage)).toBeUndefined();
    }
    await redis.set(key, '1767225600123');
    expect(await readLastSweep(replicaB)).toBe(1_767_225_600_123);
  });
});

describe('the sweep job', () => {
  it('records its end and counts success; a failed sweep is counted and leaves the record alone', async () => {
    const { queue } = openQueue();
    const metrics = new RotatorMetrics();
    let failing = true;
    const ledger = {
      readMany: async () => {
        if (failing) throw new Error('redis is down');
        return new Map();
      },
    } as unknown as LedgerPort;
    let clock = 1_767_225_600_000;
    const deps: ProcessorDeps = {
      config: { targets: [], rotation: { batchWindowMs: 50 } } as unknown as RotatorConfig,
      engine: {} as unknown as ProcessorDeps['engine'],
      engineListing: async () => [],
      ledger,
      queue,
      deadLetters: {} as unknown as ProcessorDeps['deadLetters'],
      logger: captureLogger('info').logger,
      now: () => clock,
      metrics,
    };
    const processor = createProcessor(deps);
    const sweepJob = { name: 'sweep', data: {} } as unknown as Job;

    await expect(processor(sweepJob)).rejects.toThrow('redis is down');
    let body = await metrics.render();
    expect(sample(body, 'rotator_sweeps_total', { outcome: 'failed' })).toBe(1);
    expect(sample(body, 'rotator_sweeps_total', { outcome: 'succeeded' })).toBeUndefined();
    expect(await readLastSweep(queue)).toBeUndefined();

    failing = false;
    await processor(sweepJob);
    expect(await readLastSweep(queue)).toBe(clock);

    clock += 60_000;
    failing = true;
    await expect(processor(sweepJob)).rejects.toThrow('redis is down');
    // The last success stays: the alert measures time since it.
    expect(await readLastSweep(queue)).toBe(clock - 60_000);
    body = await metrics.render();
    expect(sample(body, 'rotator_sweeps_total', { outcome: 'failed' })).toBe(2);
    expect(sample(body, 'rotator_sweeps_total', { outcome: 'succeeded' })).toBe(1);
  });
});
