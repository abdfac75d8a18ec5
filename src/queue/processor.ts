import { DelayedError, RateLimitError, UnrecoverableError, type Job, type Queue } from 'bullmq';
import { ErrorCodes } from '../errors/codes.ts';
import type { Logger } from 'pino';
import type { RotatorConfig, TargetConfig } from '../config/types.ts';
import { asRotatorError } from '../errors/internal-error.ts';
import type { RotatorError } from '../errors/rotator-error.ts';
import { throttledService, type RotatorMetrics } from '../observability/metrics.ts';
import type { ConnectorMapping } from '../qualys/types.ts';
import type { LedgerPort } from '../rotation/ports.ts';
import type { RotationEngine } from '../rotation/rotation-engine.ts';
import { RotationFailedError } from '../rotation/rotation-failed-error.ts';
import type { DeadLetters } from './dead-letters.ts';
import type { RetireJobData, RotateJobData, RotateJobResult } from './job-data.ts';
import { enqueueRetire, enqueueRotation } from './rotation-queue.ts';
import { planSweep } from './sweep-plan.ts';
import { recordSweep } from './sweep-record.ts';

export interface ProcessorDeps {
  readonly config: RotatorConfig;
  readonly engine: RotationEngine;
  /** Qualys' listing of (connector, app) pairs. */
  readonly engineListing: () => Promise<ConnectorMapping[]>;
  readonly ledger: LedgerPort;
  readonly queue: Queue;
  readonly deadLetters: DeadLetters;
  readonly logger: Logger;
  readonly now?: () => number;
  /** True once the worker is stopping: a job fetched in that moment goes back to the queue. */
  readonly isStopping?: () => boolean;
  readonly metrics?: Pick<
    RotatorMetrics,
    'recordRotation' | 'observeStep' | 'recordRateLimitWait' | 'recordSweep'
  >;
}

/**
 * The worker's job handler. It turns the engine's classified errors into queue control flow, decided
 * once: throttled → pause the whole queue for the wait (no attempt spent); permanent → dead-letter now
 * (`UnrecoverableError`); transient → retry with backoff, dead-letter when attempts run out.
 */
export function createProcessor(deps: ProcessorDeps): (job: Job, token?: string) => Promise<unknown> {
  const now = deps.now ?? Date.now;
  const targets = new Map(deps.config.targets.map((target) => [target.appId, target]));
  const targetOf = (appId: string): TargetConfig | undefined => targets.get(appId);
  // Rotations that start together share one Qualys listing, as their pushes share one update.
  let cached: { at: number; listing: Promise<ConnectorMapping[]> } | undefined;
  const listing = (): Promise<ConnectorMapping[]> => {
    const maxAgeMs = Math.max(2_000, deps.config.rotation.batchWindowMs * 2);
    if (cached === undefined || now() - cached.at > maxAgeMs) {
      const fresh = deps.engineListing();
      cached = { at: now(), listing: fresh };
      fresh.catch(() => {
        if (cached?.listing === fresh) cached = undefined;
      });
    }
    return cached.listing;
  };

  async function rotate(
    job: Job<RotateJobData>,
    token: string | undefined,
  ): Promise<RotateJobResult | { skipped: string }> {
    const target = targetOf(job.data.appId);
    if (target === undefined) {
      // Removed from the configuration after the job was queued: nothing to do.
      deps.metrics?.recordRotation('skipped');
      return { skipped: `app ${job.data.appId} is not configured` };
    }
    if (deps.isStopping?.() === true && token !== undefined) {
      await job.moveToDelayed(now() + 1_000, token);
      throw new DelayedError();
    }
    const log = deps.logger.child({
      appId: target.appId,
      tenantId: target.tenantId,
      jobId: job.id,
      attempt: job.attemptsMade + 1,
    });
    const startedAt = performance.now();
    const timed = () => deps.metrics?.observeStep('rotation', (performance.now() - startedAt) / 1000);
    try {
      const report = await deps.engine.rotate(target, { forced: job.data.forced, listing: await listing() });
      timed();
      deps.metrics?.recordRotation(report.outcome);
      for (const letter of report.deadLetters) {
        await deps.deadLetters.record(letter, {
          targetName: target.name,
          connectors: target.connectors,
          attempts: 1,
        });
      }
      const firstRetire = report.retireLater
        .map((entry) => Date.parse(entry.notBefore))
        .sort((a, b) => a - b)[0];
      if (firstRetire !== undefined)
        await enqueueRetire(deps.queue, deps.config.worker, target.appId, firstRetire, now());
      return {
        appId: target.appId,
        rotationId: report.rotationId,
        outcome: report.outcome,
        keyId: report.keyId,
        verified: Object.values(report.connectors).filter((connector) => connector.status === 'verified')
          .length,
        failed: report.deadLetters.length,
        retired: report.retired.length,
        deadLetters: report.deadLetters.length,
      };
    } catch (error) {
      timed();
      throw await handleFailure(job, token, target, asRotatorError(error), log);
    }
  }

  async function handleFailure(
    job: Job,
    token: string | undefined,
    target: TargetConfig,
    error: RotatorError,
    log: Logger,
  ): Promise<Error> {
    if (error.code === ErrorCodes.shuttingDown && token !== undefined) {
      // Back to the queue without spending an attempt: another replica, or this one restarted, resumes it.
      await job.moveToDelayed(now() + 1_000, token);
      return new DelayedError();
    }
    if (error.kind === 'throttled') {
      const waitMs = error.retryAfterMs ?? 60_000;
      log.warn({ err: error, waitMs }, 'upstream throttled us: pausing the queue');
      deps.metrics?.recordRateLimitWait(throttledService(error.code));
      await deps.queue.rateLimit(waitMs);
      return new RateLimitError();
    }
    const attempts = job.attemptsMade + 1;
    const exhausted = attempts >= (job.opts.attempts ?? 1);
    if (error.kind === 'permanent' || exhausted) {
      const letter =
        error instanceof RotationFailedError
          ? error.deadLetter
          : {
              appId: target.appId,
              tenantId: target.tenantId,
              step: 'plan' as const,
              errorCode: error.code,
              message: error.message,
              rotationId: '-',
              at: new Date(now()).toISOString(),
            };
      await deps.deadLetters.record(letter, {
        targetName: target.name,
        connectors: target.connectors,
        attempts,
      });
      log.error({ err: error, attempts, exhausted }, 'rotation dead-lettered');
      deps.metrics?.recordRotation('dead_lettered');
      return error.kind === 'permanent' ? new UnrecoverableError(error.message) : error;
    }
    log.warn({ err: error, attempts }, 'rotation failed; will retry');
    deps.metrics?.recordRotation('failed');
    return error;
  }

  async function retire(job: Job<RetireJobData>): Promise<unknown> {
    const target = targetOf(job.data.appId);
    if (target === undefined) return { skipped: `app ${job.data.appId} is not configured` };
    try {
      return await deps.engine.retire(target);
    } catch (error) {
      // Retirement never blocks anything: the next sweep tries again.
      deps.logger.warn({ appId: target.appId, err: error }, 'retirement failed; the next sweep retries');
      return { failed: true };
    }
  }

  async function sweep(): Promise<unknown> {
    try {
      const result = await planAndEnqueue();
      // Only a sweep that enqueued everything it found due counts as done (the "no sweep for N hours" alert).
      await recordSweep(deps.queue, now());
      deps.metrics?.recordSweep('succeeded');
      return result;
    } catch (error) {
      deps.metrics?.recordSweep('failed');
      throw error;
    }
  }

  async function planAndEnqueue(): Promise<unknown> {
    const records = await deps.ledger.readMany(deps.config.targets.map((target) => target.appId));
    const plan = planSweep(deps.config.targets, records, now());
    let queued = 0;
    for (const entry of plan.rotate) {
      if (
        (await enqueueRotation(deps.queue, deps.config.worker, {
          appId: entry.appId,
          forced: false,
          origin: 'sweep',
        })) === 'queued'
      )
        queued += 1;
    }
    for (const appId of plan.retire) await enqueueRetire(deps.queue, deps.config.worker, appId, now(), now());
    deps.logger.info(
      { targets: deps.config.targets.length, due: plan.rotate.length, queued, retire: plan.retire.length },
      'sweep planned',
    );
    return {
      targets: deps.config.targets.length,
      due: plan.rotate.length,
      queued,
      retire: plan.retire.length,
    };
  }

  return async (job: Job, token?: string) => {
    switch (job.name) {
      case 'rotate':
        return rotate(job as Job<RotateJobData>, token);
      case 'retire':
        return retire(job as Job<RetireJobData>);
      case 'sweep':
        return sweep();
      case 'dead-letter-cleanup':
        return { removed: await deps.deadLetters.clean(deps.config.worker.deadLetterRetentionMs, now()) };
      default:
        throw new UnrecoverableError(`unknown job ${job.name}`);
    }
  };
}
