import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { QualysCallBudget } from '../../src/qualys/call-budget.ts';
import { QualysRateLimitedError } from '../../src/qualys/errors/index.ts';
import { DeadLetters } from '../../src/queue/dead-letters.ts';

const connections: Redis[] = [];
function redis(): Redis {
  const connection = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
  connections.push(connection);
  return connection;
}

afterAll(() => {
  for (const connection of connections) connection.disconnect();
});

describe('the Qualys call budget', () => {
  it('is shared by every replica through Redis, and hands the rest of the window to the queue', async () => {
    const prefix = `{budget-${randomUUID().slice(0, 8)}}`;
    let now = 10 * 60_000 + 15_000;
    const clock = () => now;
    const replicaA = new QualysCallBudget(redis(), prefix, { calls: 3, windowMs: 60_000 }, clock);
    const replicaB = new QualysCallBudget(redis(), prefix, { calls: 3, windowMs: 60_000 }, clock);
    await replicaA.take('list');
    await replicaB.take('update');
    await replicaA.take('sync');
    const error = await replicaB.take('list').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(QualysRateLimitedError);
    expect(error).toMatchObject({ kind: 'throttled', retryAfterMs: 45_000 });
    expect(await replicaA.used()).toBe(4);
    now += 45_000;
    await expect(replicaA.take('list')).resolves.toBeUndefined();
  });
});

describe('the dead-letter queue', () => {
  it('keeps one item per (app, connector), counts repeats, and drops items past retention', async () => {
    const queue = new Queue('dead-letter', {
      connection: redis(),
      prefix: `{dlq-${randomUUID().slice(0, 8)}}`,
    });
    try {
      const letters = new DeadLetters(queue);
      const appId = randomUUID();
      const connectorId = randomUUID();
      const letter = {
        appId,
        tenantId: randomUUID(),
        connectorId,
        step: 'push' as const,
        errorCode: 'CONNECTOR_NOT_FOUND',
        message: 'unknown connector',
        rotationId: 'r-1',
        at: '2026-01-01T00:00:00.000Z',
      };
      await letters.record(letter, { targetName: 'app', connectors: [connectorId], attempts: 1 });
      const again = await letters.record(
        { ...letter, rotationId: 'r-2', at: '2026-01-02T00:00:00.000Z' },
        { targetName: 'app', connectors: [connectorId], attempts: 1 },
      );
      expect(again).toMatchObject({
        attempts: 2,
        firstFailureAt: '2026-01-01T00:00:00.000Z',
        lastFailureAt: '2026-01-02T00:00:00.000Z',
        rotationId: 'r-2',
      });
      await letters.record(
        { ...letter, connectorId: undefined, step: 'create', at: '2026-03-01T00:00:00.000Z' },
        { targetName: 'app', connectors: [connectorId, 'other'], attempts: 3 },
      );
      expect(await letters.count()).toBe(2);
      expect((await letters.list({ connectorId })).map((item) => item.connectors)).toEqual([
        [connectorId],
        [connectorId, 'other'],
      ]);
      expect(await letters.clean(30 * 86_400_000, Date.parse('2026-03-05T00:00:00.000Z'))).toBe(1);
      expect((await letters.list()).map((item) => item.step)).toEqual(['create']);
    } finally {
      await queue.close();
    }
  });
});
