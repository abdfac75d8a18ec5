import { backoffDelayMs } from '../util/backoff.ts';

export const BACKOFF_TYPE = 'jittered';

/**
 * BullMQ's custom backoff strategy: exponential with full jitter, so replicas that failed together do
 * not retry together.
 */
export function jitteredBackoff(
  baseDelayMs: number,
  maxDelayMs: number,
): (attemptsMade: number, type?: string) => number {
  return (attemptsMade) => Math.max(1_000, backoffDelayMs(attemptsMade, { baseDelayMs, maxDelayMs }));
}
