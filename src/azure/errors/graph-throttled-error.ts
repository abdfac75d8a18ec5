import { ErrorCodes } from '../../errors/codes.ts';
import { RotatorError } from '../../errors/rotator-error.ts';

/** Graph answered 429 with a wait longer than we sleep in place; the queue pauses for `retryAfterMs`. */
export class GraphThrottledError extends RotatorError {
  readonly code = ErrorCodes.graphThrottled;
  readonly kind = 'throttled';
  declare readonly retryAfterMs: number;

  constructor(operation: string, retryAfterMs: number) {
    super(`Graph throttled ${operation}; retry in ${Math.ceil(retryAfterMs / 1000)} s`, { retryAfterMs });
  }
}
