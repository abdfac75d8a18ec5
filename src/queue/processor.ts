import { RateLimitError, UnrecoverableError, type Job, type Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { RotatorConfig, TargetConfig } from '../config/types.ts';
import { asRotatorError } from '../errors/internal-error.ts';
import type { RotatorError } from '../errors/rotator-error.ts';
import type { LedgerPort } from '../rotation/ports.ts';
import type { RotationEngine } from '../rotation/rotation-engine.ts';
import { RotationFailedError } from '../rotation/rotation-failed-error.ts';
import type { DeadLetters } from './dead-letters.ts';
import type { RetireJobData, RotateJobData, RotateJobResult } from './job-data.ts';
import { enqueueRetire, enqueueRotation } from './rotation-queue.ts';
import { planSweep } from './sweep-plan.ts';

export interface ProcessorDeps {
  readonly config: RotatorConfig;
  readonly engine: RotationEngine;
  readonly ledger: LedgerPort;
  readonly queue: Queue;
  readonly deadLetters: DeadLetters;
  readonly logger: Logger;
  readonly now?: () => number;
}

/**
 * The worker's job handler. It turns the engine's classified errors into queue control flow, decided
 * once: throttled → pause the whole queue for the wait (no attempt spent); permanent → dead-letter now
 * (`UnrecoverableError`); transient → retry with backoff, dead-letter when attempts run out.
 */
export function createProcessor(deps: ProcessorDeps): (job: Job) => Promise<unknown> {
  const now = deps.now ?? Date.now;
  const targets = new Map(deps.config.targets.map((target) => [target.appId, target]));
  const targetOf = (appId: string): TargetConfig | undefined => targets.get(appId);

  async function rotate(job: Job<RotateJobData>): Promise<RotateJobResult | { skipped: string }> {
    const target = targetOf(job.data.appId);
    if (target === undefined) {
      // Removed from the configuration after the job was queued: nothing to do.
      return { skipped: `app ${job.data.appId} is not configured` };
    }
    const log = deps.logger.child({
      appId: target.appId,
      tenantId: target.tenantId,
      jobId: job.id,
      attempt: job.attemptsMade + 1,
    });
    try {
      const report = await deps.engine.rotate(target, { forced: job.data.forced });
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
      throw await handleFailure(job, target, asRotatorError(error), log);
    }
  }

  async function handleFailure(
    job: Job,
    target: TargetConfig,
    error: RotatorError,
    log: Logger,
  ): Promise<Error> {
    if (error.kind === 'throttled') {
      const waitMs = error.retryAfterMs ?? 60_000;
      log.warn({ err: error, waitMs }, 'upstream throttled us: pausing the queue');
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
      return error.kind === 'permanent' ? new UnrecoverableError(error.message) : error;
    }
    log.warn({ err: error, attempts }, 'rotation failed; will retry');
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

  return async (job: Job) => {
    switch (job.name) {
      case 'rotate':
        return rotate(job as Job<RotateJobData>);
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
