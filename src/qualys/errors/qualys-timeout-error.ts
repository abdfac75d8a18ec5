import { ErrorCodes } from '../../errors/codes.ts';
import { RotatorError, type RotatorErrorOptions } from '../../errors/rotator-error.ts';

export type TimeoutPhase = 'connect' | 'headers' | 'body';

/**
 * No answer in time. After a `headers` or `body` timeout the request may have been processed: callers
 * of non-idempotent operations must treat the outcome as unknown.
 */
export class QualysTimeoutError extends RotatorError {
  readonly code = ErrorCodes.qualysTimeout;
  readonly kind = 'transient';
  readonly phase: TimeoutPhase;

  constructor(operation: string, phase: TimeoutPhase, options?: RotatorErrorOptions) {
    super(
      `Qualys ${operation} timed out waiting for the ${phase === 'connect' ? 'connection' : phase}`,
      options,
    );
    this.phase = phase;
  }
}
