import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import type { RotatorConfig } from '../config/types.ts';
import type { RotatorMetrics } from '../observability/metrics.ts';
import type { FailureStep, Step } from '../rotation/ledger-model.ts';
import type { LedgerPort } from '../rotation/ports.ts';
import type { DeadLetterItem, DeadLetters } from './dead-letters.ts';
import { JobStalledError } from './job-stalled-error.ts';
import type { RotateJobData } from './job-data.ts';

/** BullMQ's reason for failing a job that stalled more than `maxStalledCount` times. */
const STALLED_REASON = /stalled more than allowable limit/i;

/** True when BullMQ (not the processor) failed the job because its workers kept dying. */
export function isStallFailure(error: Error): boolean {
  return STALLED_REASON.test(error.message);
}

/** Where an interrupted rotation stood, as the step an operator reads in the DLQ. */
const FAILED_AT: Readonly<Record<Step, FailureStep>> = {
  intent: 'create',
  created: 'ready',
  ready: 'push',
  'push-intent': 'push',
  pushed: 'verify',
  synced: 'verify',
  verified: 'verify',
};

export interface StalledJobDeps {
  readonly config: RotatorConfig;
  readonly ledger: LedgerPort;
  readonly deadLetters: DeadLetters;
  readonly logger: Logger;
  readonly metrics?: Pick<RotatorMetrics, 'recordRotation'>;
  readonly now?: () => number;
}

/**
 * Records in the dead-letter queue a rotate job that BullMQ failed because it stalled too often (no
 * processor saw that failure, so nothing else would): ROT_ERR_STALLED, at the step and with the
 * rotation id of the interrupted rotation the ledger holds. Returns the item; undefined for a job that
 * is not a rotation of a configured target (logged only).
 */
export async function deadLetterStalledJob(
  deps: StalledJobDeps,
  job: Job,
): Promise<DeadLetterItem | undefined> {
  const now = deps.now ?? Date.now;
  const appId = job.name === 'rotate' ? (job.data as Partial<RotateJobData>).appId : undefined;
  const target = deps.config.targets.find((candidate) => candidate.appId === appId);
  if (target === undefined) {
    deps.logger.error(
      { jobId: job.id, name: job.name, stalls: job.stalledCounter },
      'job failed outside the processor (stalled too often); nothing to dead-letter',
    );
    return undefined;
  }
  const error = new JobStalledError(target.appId, job.stalledCounter, deps.config.worker.maxStalledCount);
  const inFlight = (await deps.ledger.read(target.appId))?.inFlight;
  const item = await deps.deadLetters.record(
    {
      appId: target.appId,
      tenantId: target.tenantId,
      step: inFlight === undefined ? 'plan' : FAILED_AT[inFlight.step],
      errorCode: error.code,
      message: error.message,
      rotationId: inFlight?.rotationId ?? '-',
      at: new Date(now()).toISOString(),
    },
    {
      targetName: target.name,
      connectors: target.connectors,
      // The runs that died, plus those that failed before (BullMQ counts the stall failure as one).
      attempts: Math.max(1, job.stalledCounter, job.stalledCounter + job.attemptsMade - 1),
    },
  );
  deps.logger.error(
    {
      appId: target.appId,
      tenantId: target.tenantId,
      jobId: job.id,
      stalls: job.stalledCounter,
      step: item.step,
      rotationId: item.rotationId,
      err: error,
    },
    'rotation dead-lettered: its job stalled too often',
  );
  deps.metrics?.recordRotation('dead_lettered');
  return item;
}
