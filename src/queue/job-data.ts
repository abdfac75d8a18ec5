/**
 * What queue jobs carry. Job data is stored in clear text in Redis, so it holds ids and flags only:
 * never a secret, never a whole configuration.
 */
export const ROTATION_QUEUE = 'rotation';
export const DEAD_LETTER_QUEUE = 'dead-letter';

export const SWEEP_SCHEDULER_ID = 'sweep';
export const DLQ_CLEANUP_SCHEDULER_ID = 'dead-letter-cleanup';

export type JobName = 'rotate' | 'retire' | 'sweep' | 'dead-letter-cleanup';

export interface RotateJobData {
  readonly appId: string;
  readonly forced: boolean;
  /** Who asked: the sweep, an operator (CLI or admin API), or a replay of a dead letter. */
  readonly origin: 'sweep' | 'operator' | 'replay';
}

export interface RetireJobData {
  readonly appId: string;
}

export type SweepJobData = Record<string, never>;

/** BullMQ job ids must not contain ':'; appIds are UUIDs, so these are safe and deterministic. */
export const rotateJobId = (appId: string): string => `rotate-${appId}`;
export const retireJobId = (appId: string): string => `retire-${appId}`;

/** What a finished rotate job returns (kept only as the completion event's payload). */
export interface RotateJobResult {
  readonly appId: string;
  readonly rotationId: string;
  readonly outcome: string;
  readonly keyId?: string | undefined;
  readonly verified: number;
  readonly failed: number;
  readonly retired: number;
  readonly deadLetters: number;
}
