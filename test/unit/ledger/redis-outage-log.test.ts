import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  isRedisConnectionError,
  watchRedis,
  type OutageLogger,
} from '../../../src/ledger/redis-outage-log.ts';

/** What the watch reads of an ioredis client: its status and its events. */
class FakeRedis extends EventEmitter {
  status = 'connecting';

  constructor() {
    super();
    // As on the real client, other listeners are there (BullMQ's): an error event never throws.
    this.on('error', () => undefined);
  }

  asRedis(): Redis {
    return this as unknown as Redis;
  }

  refused(): void {
    this.status = 'reconnecting';
    this.emit(
      'error',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' }),
    );
  }

  ready(): void {
    this.status = 'ready';
    this.emit('ready');
  }

  closed(): void {
    this.status = 'reconnecting';
    this.emit('close');
  }
}

function recorder(): OutageLogger & { lines: { level: string; msg: string; fields: object }[] } {
  const lines: { level: string; msg: string; fields: object }[] = [];
  const at = (level: string) => (fields: object, msg: string) => lines.push({ level, msg, fields });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('watchRedis', () => {
  it('at start-up: one line however many retries fail, a reminder a minute, one line when Redis comes', () => {
    const redis = new FakeRedis();
    const log = recorder();
    const watch = watchRedis(redis.asRedis(), log, { now: () => Date.now() });
    expect(watch.readiness()).toBe('redis is connecting');
    for (let retry = 0; retry < 30; retry++) {
      redis.refused();
      vi.advanceTimersByTime(2_000);
    }
    // 60 s of retries every 2 s: the first line and one reminder.
    expect(log.lines.map((line) => [line.level, line.msg])).toEqual([
      [
        'error',
        'Redis is unreachable (connect ECONNREFUSED 127.0.0.1:6379); the worker keeps trying and starts when it answers',
      ],
      ['error', 'Redis still unreachable after 60 s; still retrying'],
    ]);
    expect(watch.readiness()).toBe('redis is reconnecting: connect ECONNREFUSED 127.0.0.1:6379');
    redis.ready();
    expect(log.lines.at(-1)).toMatchObject({ level: 'info', msg: 'Redis reachable again after 60 s' });
    expect(watch.readiness()).toBe(true);
    vi.advanceTimersByTime(180_000);
    expect(log.lines).toHaveLength(3);
    watch.stop();
  });

  it('a connection that came up at once logs nothing', () => {
    const redis = new FakeRedis();
    const log = recorder();
    watchRedis(redis.asRedis(), log).stop();
    const watch = watchRedis(redis.asRedis(), log);
    redis.ready();
    vi.advanceTimersByTime(120_000);
    expect(log.lines).toEqual([]);
    watch.stop();
  });

  it('an outage later: logged once with the reason of the first failed reconnection, and its end', () => {
    const redis = new FakeRedis();
    redis.status = 'ready';
    const log = recorder();
    const watch = watchRedis(redis.asRedis(), log);
    redis.closed();
    expect(log.lines).toEqual([]);
    vi.advanceTimersByTime(50);
    redis.refused();
    redis.refused();
    vi.advanceTimersByTime(5_000);
    redis.refused();
    expect(log.lines.map((line) => line.msg)).toEqual([
      'Redis connection lost (connect ECONNREFUSED 127.0.0.1:6379); retrying until it is back, queued work waits for it',
    ]);
    redis.ready();
    expect(log.lines.map((line) => line.level)).toEqual(['error', 'info']);
    watch.stop();
  });

  it('a clean close with no failed retry is logged after a moment; a blip that heals at once is one warning', () => {
    const redis = new FakeRedis();
    redis.status = 'ready';
    const log = recorder();
    const watch = watchRedis(redis.asRedis(), log, { reasonWaitMs: 1_000 });
    redis.closed();
    vi.advanceTimersByTime(1_000);
    expect(log.lines.map((line) => line.msg)).toEqual([
      'Redis connection lost (the connection closed); retrying until it is back, queued work waits for it',
    ]);
    redis.ready();
    redis.closed();
    redis.ready();
    expect(log.lines.map((line) => [line.level, line.msg])).toEqual([
      [
        'error',
        'Redis connection lost (the connection closed); retrying until it is back, queued work waits for it',
      ],
      ['info', 'Redis reachable again after 1 s'],
      ['warn', 'Redis connection dropped and was re-established at once'],
    ]);
    watch.stop();
  });

  it('stops watching: the close at shutdown is not an outage', () => {
    const redis = new FakeRedis();
    redis.status = 'ready';
    const log = recorder();
    watchRedis(redis.asRedis(), log).stop();
    redis.closed();
    redis.refused();
    vi.advanceTimersByTime(120_000);
    expect(log.lines).toEqual([]);
  });

  it('tells connection errors from refused commands', () => {
    const coded = (code: string) => Object.assign(new Error(code), { code });
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND'])
      expect(isRedisConnectionError(coded(code)), code).toBe(true);
    expect(isRedisConnectionError(new Error('Connection is closed.'))).toBe(true);
    const reply = Object.assign(new Error('NOSCRIPT No matching script'), { name: 'ReplyError' });
    expect(isRedisConnectionError(reply)).toBe(false);
    expect(isRedisConnectionError('ECONNREFUSED')).toBe(false);
  });
});
