import { ErrorCodes } from './codes.ts';
import { RotatorError } from './rotator-error.ts';

/**
 * An error nobody classified: a bug. Transient, so that the attempts (and then the DLQ) bound it; the
 * original is kept as the cause for the stack, its message is not repeated (it might hold anything).
 */
export class InternalError extends RotatorError {
  readonly code = ErrorCodes.internal;
  readonly kind = 'transient';

  constructor(cause: unknown) {
    super(
      `internal error (${cause instanceof Error ? cause.name : typeof cause}); see the log for the stack`,
      { cause },
    );
  }
}

export function asRotatorError(error: unknown): RotatorError {
  return error instanceof RotatorError ? error : new InternalError(error);
}
