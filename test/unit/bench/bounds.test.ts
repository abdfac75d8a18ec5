import { describe, expect, it } from 'vitest';
import { throughputBounds, type BoundInputs } from '../../../bench/bounds.ts';

const inputs: BoundInputs = {
  qualysLimit: 300,
  qualysWindowMs: 3_600_000,
  callsPerRound: 3,
  batchMaxPairs: 200,
  pairsPerTarget: 1.25,
  concurrency: 256,
  propagationMs: 5_000,
  batchWindowMs: 2_000,
  criticalPathCalls: 6,
  latencyMs: 50,
};

describe('the throughput bound the benchmark compares with', () => {
  it('is Qualys-bound with the real hourly limit: 100 rounds an hour of 160 targets', () => {
    const bounds = throughputBounds(inputs);
    // 300 calls an hour = 5 a minute = 5/3 rounds a minute, each 200 / 1.25 = 160 targets.
    expect(bounds.qualysPerMinute).toBeCloseTo((5 / 3) * 160);
    expect(bounds.bindingLimit).toBe('qualys');
    expect(bounds.perMinute).toBe(bounds.qualysPerMinute);
  });

  it('is propagation-bound once the limit is scaled down in time', () => {
    const bounds = throughputBounds({ ...inputs, qualysWindowMs: 60_000 });
    // 256 slots, each busy 5 s + 2 s + 6 × 50 ms = 7.3 s per rotation.
    expect(bounds.propagationPerMinute).toBeCloseTo(256 * (60_000 / 7_300));
    expect(bounds.bindingLimit).toBe('propagation');
    expect(bounds.perMinute).toBe(bounds.propagationPerMinute);
  });

  it('without batching, one pair per round', () => {
    const naive = throughputBounds({ ...inputs, batchMaxPairs: 1, pairsPerTarget: 1, concurrency: 1 });
    expect(naive.qualysPerMinute).toBeCloseTo(5 / 3);
  });
});
