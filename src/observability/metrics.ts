import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ErrorCodes } from '../errors/codes.ts';
import type { TargetRecord } from '../rotation/ledger-model.ts';

export type RotationMetricOutcome = 'rotated' | 'partial' | 'failed' | 'skipped' | 'dead_lettered';
export type UpstreamService = 'qualys' | 'graph' | 'entra';
export type SweepMetricOutcome = 'succeeded' | 'failed';

/** Where the scrape-time gauges read from; set once the worker has opened its queues. */
export interface MetricsSources {
  readonly targets: readonly { readonly name: string; readonly appId: string }[];
  readonly readRecords: (appIds: readonly string[]) => Promise<Map<string, TargetRecord>>;
  readonly deadLetterCount: () => Promise<number>;
  readonly queueCounts: () => Promise<Readonly<Record<string, number>>>;
  /** End of the last successful sweep in epoch ms, shared by all replicas; undefined before the first. */
  readonly lastSweepAt: () => Promise<number | undefined>;
  /** Told when a scrape could not read Redis (the gauges are then left empty rather than stale). */
  readonly onCollectError?: (error: unknown) => void;
}

interface Snapshot {
  readonly targets: MetricsSources['targets'];
  readonly records: Map<string, TargetRecord>;
  readonly deadLetters: number;
  readonly queue: Readonly<Record<string, number>>;
  readonly lastSweepAt: number | undefined;
}

const QUEUE_STATES = ['waiting', 'delayed', 'active'] as const;

/**
 * The worker's Prometheus metrics, on a registry of its own: the global one would collide between
 * tests and between several workers in one process. Labels carry ids and names only, never secrets.
 */
export class RotatorMetrics {
  readonly registry = new Registry();
  readonly #rotations: Counter<'outcome'>;
  readonly #stepDuration: Histogram<'step'>;
  readonly #upstream: Counter<'service' | 'status'>;
  readonly #rateLimitWaits: Counter<'service'>;
  readonly #sweeps: Counter<'outcome'>;
  #sources: MetricsSources | undefined;
  // One Redis read serves every gauge of a scrape: prom-client runs their collect() concurrently.
  #inFlight: Promise<Snapshot | undefined> | undefined;

  constructor() {
    const registers = [this.registry];
    this.#rotations = new Counter({
      name: 'rotator_rotations_total',
      help: 'Rotation runs by result (dead_lettered: the rotation went to the dead-letter queue).',
      labelNames: ['outcome'],
      registers,
    });
    this.#stepDuration = new Histogram({
      name: 'rotator_step_duration_seconds',
      help: 'Duration of rotation steps in seconds (step="rotation": a whole engine run).',
      labelNames: ['step'],
      buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
      registers,
    });
    this.#upstream = new Counter({
      name: 'rotator_upstream_requests_total',
      help: 'HTTP requests to Qualys, Graph and Entra by service and status (0: no answer).',
      labelNames: ['service', 'status'],
      registers,
    });
    this.#rateLimitWaits = new Counter({
      name: 'rotator_rate_limit_waits_total',
      help: 'Times the queue was paused because an upstream throttled us.',
      labelNames: ['service'],
      registers,
    });
    this.#sweeps = new Counter({
      name: 'rotator_sweeps_total',
      help: 'Sweeps (the scheduled search for due targets) run by this replica, by result.',
      labelNames: ['outcome'],
      registers,
    });
    const snapshot = () => this.#snapshot();
    new Gauge({
      name: 'rotator_secret_expiry_timestamp_seconds',
      help: 'Expiry of the current managed key of each target, in Unix seconds.',
      labelNames: ['app', 'app_id'],
      registers,
      async collect() {
        this.reset();
        const state = await snapshot();
        forEachTarget(state, (labels, record) => {
          const at = parseTime(record.currentKeyExpiresAt);
          if (at !== undefined) this.set(labels, at);
        });
      },
    });
    new Gauge({
      name: 'rotator_last_success_timestamp_seconds',
      help: 'Last fully successful rotation of each target, in Unix seconds.',
      labelNames: ['app', 'app_id'],
      registers,
      async collect() {
        this.reset();
        const state = await snapshot();
        forEachTarget(state, (labels, record) => {
          const at = parseTime(record.lastSuccessAt);
          if (at !== undefined) this.set(labels, at);
        });
      },
    });
    new Gauge({
      name: 'rotator_dlq_depth',
      help: 'Items in the dead-letter queue.',
      registers,
      async collect() {
        this.reset();
        const state = await snapshot();
        if (state !== undefined) this.set(state.deadLetters);
      },
    });
    new Gauge({
      name: 'rotator_last_sweep_timestamp_seconds',
      help: 'End of the last successful sweep (the scheduled search for due targets), in Unix seconds.',
      registers,
      async collect() {
        // Absent, not 0, until a sweep is known (reset() alone would leave an unlabelled gauge at 0).
        this.reset();
        this.remove();
        const state = await snapshot();
        if (state?.lastSweepAt !== undefined) this.set(state.lastSweepAt / 1000);
      },
    });
    new Gauge({
      name: 'rotator_queue_depth',
      help: 'Jobs in the rotation queue by state.',
      labelNames: ['state'],
      registers,
      async collect() {
        this.reset();
        const state = await snapshot();
        if (state === undefined) return;
        for (const name of QUEUE_STATES) this.set({ state: name }, state.queue[name] ?? 0);
      },
    });
    // An unlabelled gauge still shows 0 when its read failed, so a failed read is reported on its own.
    new Gauge({
      name: 'rotator_metrics_redis_up',
      help: '1 when this scrape read the ledger and queues from Redis, 0 when it could not.',
      registers,
      async collect() {
        this.set((await snapshot()) === undefined ? 0 : 1);
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Connects the scrape-time gauges to the ledger and the queues. */
  observe(sources: MetricsSources): void {
    this.#sources = sources;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  recordRotation(outcome: RotationMetricOutcome): void {
    this.#rotations.inc({ outcome });
  }

  observeStep(step: string, seconds: number): void {
    this.#stepDuration.observe({ step }, seconds);
  }

  recordUpstream(service: UpstreamService, status: number): void {
    this.#upstream.inc({ service, status: String(status) });
  }

  recordRateLimitWait(service: UpstreamService | 'other'): void {
    this.#rateLimitWaits.inc({ service });
  }

  recordSweep(outcome: SweepMetricOutcome): void {
    this.#sweeps.inc({ outcome });
  }

  #snapshot(): Promise<Snapshot | undefined> {
    const sources = this.#sources;
    if (sources === undefined) return Promise.resolve(undefined);
    if (this.#inFlight !== undefined) return this.#inFlight;
    const read = async (): Promise<Snapshot> => {
      const [records, deadLetters, queue, lastSweepAt] = await Promise.all([
        sources.readRecords(sources.targets.map((target) => target.appId)),
        sources.deadLetterCount(),
        sources.queueCounts(),
        sources.lastSweepAt(),
      ]);
      return { targets: sources.targets, records, deadLetters, queue, lastSweepAt };
    };
    const pending = read().catch((error: unknown) => {
      // A scrape must still answer (process metrics, counters) when Redis does not.
      sources.onCollectError?.(error);
      return undefined;
    });
    this.#inFlight = pending;
    void pending.finally(() => {
      if (this.#inFlight === pending) this.#inFlight = undefined;
    });
    return pending;
  }
}

function forEachTarget(
  state: Snapshot | undefined,
  visit: (labels: { app: string; app_id: string }, record: TargetRecord) => void,
): void {
  if (state === undefined) return;
  for (const target of state.targets) {
    const record = state.records.get(target.appId);
    if (record !== undefined) visit({ app: target.name, app_id: target.appId }, record);
  }
}

function parseTime(iso: string | undefined): number | undefined {
  if (iso === undefined) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms / 1000;
}

/** Which upstream a throttled error came from, by its code. */
export function throttledService(code: string): UpstreamService | 'other' {
  if (code === ErrorCodes.qualysRateLimited) return 'qualys';
  if (code === ErrorCodes.graphThrottled) return 'graph';
  return 'other';
}
