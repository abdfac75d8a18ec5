import { ErrorCodes } from '../errors/codes.ts';
import { RotatorError } from '../errors/rotator-error.ts';

/** Another process holds the target's lock: at most one rotation per target runs (invariant 4). */
export class RotationLockedError extends RotatorError {
  readonly code = ErrorCodes.rotationLocked;
  readonly kind = 'transient';

  constructor(appId: string) {
    super(`app ${appId} is being rotated by another process; this run leaves it alone`, {
      retryAfterMs: 30_000,
    });
  }
}
