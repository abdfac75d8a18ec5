import type { Queue } from 'bullmq';

type SweepQueue = Pick<Queue, 'toKey' | 'getBackend'>;

const KEY = 'last-sweep';

/**
 * Records when a sweep ended successfully, in Redis beside the queue (`<prefix>:<queue>:last-sweep`, so in
 * the queue's Redis Cluster slot): any replica may run the sweep and any may be scraped. The value is a
 * plain epoch-milliseconds timestamp, written with the queue's own Redis client.
 */
export async function recordSweep(queue: SweepQueue, atMs: number): Promise<void> {
  await (await queue.getBackend().client).set(queue.toKey(KEY), String(atMs));
}

/** The end of the last successful sweep in epoch ms; undefined when none is recorded or the value is not a time. */
export async function readLastSweep(queue: SweepQueue): Promise<number | undefined> {
  const value = await (await queue.getBackend().client).get(queue.toKey(KEY));
  if (value === null || !/^\d+(?:\.\d+)?$/.test(value)) return undefined;
  const ms = Number(value);
  return Number.isFinite(ms) ? ms : undefined;
}
