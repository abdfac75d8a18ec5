import { RotatorError, type ErrorKind } from '../errors/rotator-error.ts';
import type { DeadLetter } from './report.ts';

/**
 * A rotation that failed as a whole, after the engine compensated what it could. Keeps the cause's
 * code and kind (so the queue retries, pauses or dead-letters as the cause demands) and adds the step.
 */
export class RotationFailedError extends RotatorError {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly deadLetter: DeadLetter;

  constructor(cause: RotatorError, deadLetter: DeadLetter) {
    super(
      `rotation ${deadLetter.rotationId} of app ${deadLetter.appId} failed at ${deadLetter.step}: ${cause.message}`,
      {
        cause,
        retryAfterMs: cause.retryAfterMs,
      },
    );
    this.code = cause.code;
    this.kind = cause.kind;
    this.deadLetter = deadLetter;
  }
}
