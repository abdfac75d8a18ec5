import type { Queue } from 'bullmq';
import type { RotatorConfig } from '../config/types.ts';
import { DLQ_CLEANUP_SCHEDULER_ID, SWEEP_SCHEDULER_ID } from './job-data.ts';

/**
 * Makes the queue's job schedulers match the configuration: upserts ours (idempotent, so every
 * replica may run this at start-up) and removes any other, left by an older version or configuration.
 */
export async function reconcileSchedulers(
  queue: Queue,
  config: RotatorConfig,
): Promise<{ removed: string[] }> {
  const { schedule, timeZone } = config.rotation;
  await queue.upsertJobScheduler(
    SWEEP_SCHEDULER_ID,
    { pattern: schedule, tz: timeZone },
    { name: 'sweep', data: {} },
  );
  await queue.upsertJobScheduler(
    DLQ_CLEANUP_SCHEDULER_ID,
    { pattern: '17 3 * * *', tz: timeZone },
    { name: 'dead-letter-cleanup', data: {} },
  );
  const wanted = new Set([SWEEP_SCHEDULER_ID, DLQ_CLEANUP_SCHEDULER_ID]);
  const removed: string[] = [];
  for (const scheduler of await queue.getJobSchedulers(0, -1)) {
    const id = scheduler.key;
    if (!wanted.has(id)) {
      await queue.removeJobScheduler(id);
      removed.push(id);
    }
  }
  return { removed };
}
