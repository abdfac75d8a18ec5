import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';

describe('the test run’s redis-server', () => {
  const redis = new Redis(inject('redisUrl'), { lazyConnect: true, maxRetriesPerRequest: 1 });
  afterAll(() => redis.quit());

  it('is a real Redis ≥ 6.2 with noeviction, as the rotator requires', async () => {
    await redis.connect();
    const info = await redis.info('server');
    const version = /redis_version:(\d+)\.(\d+)/.exec(info);
    expect(version).not.toBeNull();
    const [major, minor] = [Number(version![1]), Number(version![2])];
    expect(major > 6 || (major === 6 && minor >= 2)).toBe(true);
    expect(await redis.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
  });
});
