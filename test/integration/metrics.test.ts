import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { RotatorMetrics } from '../../src/observability/metrics.ts';
import { enqueueRotation } from '../../src/queue/rotation-queue.ts';
import { readLastSweep } from '../../src/queue/sweep-record.ts';
import { startWorker, type WorkerApp } from '../../src/worker/worker-app.ts';
import { expectNoSecrets } from '../support/leak-scan.ts';
import { captureLogger } from '../support/log-capture.ts';
import {
  connectRotatorRedis,
  startEstate,
  waitFor,
  type Estate,
  type RotatorRedis,
} from '../support/worker-estate.ts';

/** `/metrics` of an in-process worker, over real HTTP, after one rotation against the simulators. */

let estate: Estate;
let running: WorkerApp | undefined;
let rotator: RotatorRedis | undefined;
const logs = captureLogger('info');

beforeAll(async () => {
  estate = await startEstate({
    tls: { cert: inject('tlsCert'), key: inject('tlsKey') },
    redisUrl: inject('redisUrl'),
    connectorsOf: [2],
    propagationDelayMs: 0,
    label: 'metrics',
  });
}, 30_000);

afterAll(async () => {
  await running?.stop();
  await rotator?.close();
  await estate.close();
});

/** The value of the one sample named `name` whose labels include every pair of `labels`. */
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

/** The sum of every sample of `name` whose labels include `labels`. */
function total(body: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  return body
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) && wanted.every((pair) => line.includes(pair)))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

async function scrape(app: WorkerApp): Promise<{ contentType: string | null; body: string }> {
  const response = await fetch(`${app.http!.url}/metrics`);
  expect(response.status).toBe(200);
  return { contentType: response.headers.get('content-type'), body: await response.text() };
}

describe('worker /metrics', () => {
  it('reports the rotation, the target gauges, upstream requests and process metrics', async () => {
    const [app] = estate.apps;
    const { file, keyPrefix } = estate.writeConfig();
    const config = loadConfig({ path: file, env: {} });
    running = await startWorker(config, logs.logger);
    const worker = running;
    rotator = connectRotatorRedis(estate.redisUrl, keyPrefix);
    const redis = rotator;

    await enqueueRotation(worker.queues.rotation, config.worker, {
      appId: app!.appId,
      forced: false,
      origin: 'operator',
    });
    const record = await waitFor(
      'the app to be rotated',
      async () => {
        const found = await redis.ledger.read(app!.appId);
        return found?.lastResult?.outcome === 'rotated' ? found : undefined;
      },
      20_000,
    );
    // The counter moves once the engine hands its report back, just after the ledger write.
    const { contentType, body } = await waitFor(
      'the rotation to be counted',
      async () => {
        const scraped = await scrape(worker);
        return sample(scraped.body, 'rotator_rotations_total', { outcome: 'rotated' }) === 1
          ? scraped
          : undefined;
      },
      5_000,
    );

    expect(contentType).toBe(worker.metrics.contentType);
    expect(contentType).toContain('text/plain');
    const target = { app: app!.name, app_id: app!.appId };
    expect(sample(body, 'rotator_secret_expiry_timestamp_seconds', target)).toBe(
      Date.parse(record.currentKeyExpiresAt!) / 1000,
    );
    expect(sample(body, 'rotator_secret_expiry_timestamp_seconds', target)).toBeGreaterThan(
      Date.now() / 1000,
    );
    expect(sample(body, 'rotator_last_success_timestamp_seconds', target)).toBe(
      Date.parse(record.lastSuccessAt!) / 1000,
    );
    expect(sample(body, 'rotator_step_duration_seconds_count', { step: 'rotation' })).toBe(1);
    // Each checkpoint of the protocol is timed from the one before it.
    for (const step of ['intent', 'created', 'ready', 'push-intent', 'pushed', 'verified']) {
      expect(sample(body, 'rotator_step_duration_seconds_count', { step }), `step ${step}`).toBe(1);
    }
    expect(total(body, 'rotator_upstream_requests_total', { service: 'qualys' })).toBeGreaterThan(0);
    expect(total(body, 'rotator_upstream_requests_total', { service: 'graph' })).toBeGreaterThan(0);
    expect(
      sample(body, 'rotator_upstream_requests_total', { service: 'qualys', status: '200' }),
    ).toBeGreaterThan(0);
    expect(sample(body, 'rotator_dlq_depth')).toBe(0);
    expect(sample(body, 'rotator_metrics_redis_up')).toBe(1);
    for (const state of ['waiting', 'delayed', 'active'])
      expect(sample(body, 'rotator_queue_depth', { state })).toBeTypeOf('number');
    expect(body).toContain('# TYPE rotator_rate_limit_waits_total counter');
    expect(sample(body, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(body).toContain('nodejs_eventloop_lag_seconds');

    expectNoSecrets({ metrics: body.split('\n') }, estate.knownSecrets());
  });

  it('reports the end of the last successful sweep from Redis, absent before any, and counts sweeps', async () => {
    // No target, so the sweep has nothing to enqueue; a yearly schedule, so only the job added below runs.
    const { file, keyPrefix } = estate.writeConfig({ rotation: { schedule: '0 0 1 1 *' } }, []);
    const config = loadConfig({ path: file, env: {} });
    const worker = await startWorker(config, logs.logger);
    const other = connectRotatorRedis(estate.redisUrl, keyPrefix);
    try {
      const before = (await scrape(worker)).body;
      expect(sample(before, 'rotator_metrics_redis_up')).toBe(1);
      expect(before).toContain('# TYPE rotator_last_sweep_timestamp_seconds gauge');
      expect(sample(before, 'rotator_last_sweep_timestamp_seconds')).toBeUndefined();
      expect(sample(before, 'rotator_sweeps_total', { outcome: 'succeeded' })).toBeUndefined();

      const started = Date.now();
      // What the job scheduler adds on its schedule.
      await other.queues.rotation.add('sweep', {}, { removeOnComplete: true, removeOnFail: true });
      const body = await waitFor(
        'the sweep to be recorded and counted',
        async () => {
          const scraped = (await scrape(worker)).body;
          return sample(scraped, 'rotator_last_sweep_timestamp_seconds') !== undefined &&
            (sample(scraped, 'rotator_sweeps_total', { outcome: 'succeeded' }) ?? 0) >= 1
            ? scraped
            : undefined;
        },
        10_000,
      );
      const ended = Date.now();
      const at = sample(body, 'rotator_last_sweep_timestamp_seconds')!;
      expect(at).toBeGreaterThanOrEqual(started / 1000);
      expect(at).toBeLessThanOrEqual(ended / 1000);
      expect(sample(body, 'rotator_sweeps_total', { outcome: 'succeeded' })).toBeGreaterThanOrEqual(1);
      expect(sample(body, 'rotator_sweeps_total', { outcome: 'failed' })).toBeUndefined();
      // Kept in Redis beside the queue, so every replica reports the same time.
      expect(await readLastSweep(other.queues.rotation)).toBe(at * 1000);
      expect(await other.redis.get(`${keyPrefix}:rotation:last-sweep`)).toBe(String(at * 1000));
    } finally {
      await worker.stop();
      await other.close();
    }
  });
});

describe('RotatorMetrics', () => {
  it('reads Redis once per scrape, and still answers when Redis does not', async () => {
    const metrics = new RotatorMetrics();
    const reads = { records: 0, deadLetters: 0, queue: 0, lastSweep: 0 };
    let failing = false;
    const errors: unknown[] = [];
    metrics.observe({
      targets: [{ name: 'one', appId: 'app-1' }],
      readRecords: async () => {
        reads.records += 1;
        if (failing) throw new Error('redis is down');
        return new Map();
      },
      deadLetterCount: async () => {
        reads.deadLetters += 1;
        return 3;
      },
      queueCounts: async () => {
        reads.queue += 1;
        return { waiting: 2, delayed: 1, active: 0 };
      },
      lastSweepAt: async () => {
        reads.lastSweep += 1;
        return 1_767_225_600_500;
      },
      onCollectError: (error) => errors.push(error),
    });
    const body = await metrics.render();
    expect(reads).toEqual({ records: 1, deadLetters: 1, queue: 1, lastSweep: 1 });
    expect(sample(body, 'rotator_dlq_depth')).toBe(3);
    expect(sample(body, 'rotator_last_sweep_timestamp_seconds')).toBe(1_767_225_600.5);
    expect(sample(body, 'rotator_metrics_redis_up')).toBe(1);
    expect(sample(body, 'rotator_queue_depth', { state: 'waiting' })).toBe(2);
    await metrics.render();
    expect(reads.records).toBe(2);

    failing = true;
    const degraded = await metrics.render();
    expect(errors).toHaveLength(1);
    // No stale value: the target gauges are empty, the failed read is flagged, the rest is served.
    expect(sample(degraded, 'rotator_metrics_redis_up')).toBe(0);
    expect(sample(degraded, 'rotator_queue_depth', { state: 'waiting' })).toBeUndefined();
    expect(sample(degraded, 'rotator_last_sweep_timestamp_seconds')).toBeUndefined();
    expect(sample(degraded, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });

  it('leaves the last sweep out until one is known, and counts sweeps by outcome', async () => {
    const metrics = new RotatorMetrics();
    const sweep: { at?: number } = {};
    metrics.observe({
      targets: [],
      readRecords: async () => new Map(),
      deadLetterCount: async () => 0,
      queueCounts: async () => ({}),
      lastSweepAt: async () => sweep.at,
    });
    const before = await metrics.render();
    expect(before).toContain('# TYPE rotator_last_sweep_timestamp_seconds gauge');
    expect(sample(before, 'rotator_last_sweep_timestamp_seconds')).toBeUndefined();
    expect(before).toContain('# TYPE rotator_sweeps_total counter');

    sweep.at = 1_767_225_600_000;
    metrics.recordSweep('succeeded');
    metrics.recordSweep('failed');
    metrics.recordSweep('succeeded');
    const after = await metrics.render();
    expect(sample(after, 'rotator_last_sweep_timestamp_seconds')).toBe(1_767_225_600);
    expect(sample(after, 'rotator_sweeps_total', { outcome: 'succeeded' })).toBe(2);
    expect(sample(after, 'rotator_sweeps_total', { outcome: 'failed' })).toBe(1);
  });

  it('keeps its registry to itself', async () => {
    const first = new RotatorMetrics();
    const second = new RotatorMetrics();
    first.recordRotation('rotated');
    expect(sample(await first.render(), 'rotator_rotations_total', { outcome: 'rotated' })).toBe(1);
    expect(sample(await second.render(), 'rotator_rotations_total', { outcome: 'rotated' })).toBeUndefined();
  });
});
