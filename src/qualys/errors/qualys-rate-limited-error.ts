import { ErrorCodes } from '../../errors/codes.ts';
import { RotatorError } from '../../errors/rotator-error.ts';

/**
 * Qualys asked us to wait longer than we are willing to sleep in place. The queue layer pauses the
 * whole worker for `retryAfterMs` instead of burning an attempt.
 */
export class QualysRateLimitedError extends RotatorError {
  readonly code = ErrorCodes.qualysRateLimited;
  readonly kind = 'throttled';
  readonly status: number;
  declare readonly retryAfterMs: number;

  constructor(operation: string, status: number, retryAfterMs: number) {
    super(
      `Qualys rate limit reached on ${operation} (HTTP ${status}); retry in ${Math.ceil(retryAfterMs / 1000)} s`,
      { retryAfterMs },
    );
    this.status = status;
  }
}
