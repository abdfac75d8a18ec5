import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { WorkerConfig } from '../config/types.ts';
import { DeadLetters } from './dead-letters.ts';
import { BACKOFF_TYPE } from './jittered-backoff.ts';
import {
  DEAD_LETTER_QUEUE,
  ROTATION_QUEUE,
  retireJobId,
  rotateJobId,
  type RetireJobData,
  type RotateJobData,
} from './job-data.ts';

export interface Queues {
  readonly rotation: Queue;
  readonly deadLetters: DeadLetters;
  close(): Promise<void>;
}

/** The rotation queue and the dead-letter queue, under the configured prefix (a Redis Cluster hash tag). */
export function openQueues(connection: ConnectionOptions, prefix: string): Queues {
  const rotation = new Queue(ROTATION_QUEUE, { connection, prefix });
  const deadLetterQueue = new Queue(DEAD_LETTER_QUEUE, { connection, prefix });
  return {
    rotation,
    deadLetters: new DeadLetters(deadLetterQueue),
    async close() {
      await Promise.all([rotation.close(), deadLetterQueue.close()]);
    },
  };
}

export type EnqueueState = 'queued' | 'already-queued' | 'running';

function jobOptions(worker: WorkerConfig, jobId: string): JobsOptions {
  return {
    jobId,
    attempts: worker.attempts,
    backoff: { type: BACKOFF_TYPE },
    // Finished jobs go: their outcome is in the ledger and failures in the dead-letter queue, and
    // the deterministic id must be free for the next rotation of the same app.
    removeOnComplete: true,
    removeOnFail: true,
  };
}

/**
 * One rotate job per app at a time: the job id is the app's, so a second request while one waits is
 * merged into it (a forced request makes the waiting job forced) and one while it runs is dropped.
 */
export async function enqueueRotation(
  queue: Queue,
  worker: WorkerConfig,
  data: RotateJobData,
): Promise<EnqueueState> {
  const jobId = rotateJobId(data.appId);
  const existing = await queue.getJob(jobId);
  if (existing) {
    const state = await existing.getState();
    if (state === 'active') return 'running';
    if (
      state === 'waiting' ||
      state === 'delayed' ||
      state === 'prioritized' ||
      state === 'waiting-children'
    ) {
      const current = existing.data as RotateJobData;
      if (data.forced && !current.forced)
        await existing.updateData({ ...current, forced: true, origin: data.origin });
      return 'already-queued';
    }
    // A finished job that was kept (older versions, or a failed removal) must not block the id.
    await existing.remove().catch(() => undefined);
  }
  const added = await queue.add('rotate', data, jobOptions(worker, jobId));
  return added.id === jobId ? 'queued' : 'already-queued';
}

/** A retire job at `at` (ms); an earlier pending one for the app is kept. */
export async function enqueueRetire(
  queue: Queue,
  worker: WorkerConfig,
  appId: string,
  at: number,
  now: number,
): Promise<void> {
  const data: RetireJobData = { appId };
  await queue.add('retire', data, {
    ...jobOptions(worker, retireJobId(appId)),
    delay: Math.max(0, at - now),
  });
}
