import { ErrorCodes } from '../errors/codes.ts';
import { RotatorError } from '../errors/rotator-error.ts';

/** The process is stopping: the rotation stops at a checkpoint, for the next run to finish or undo. */
export class ShuttingDownError extends RotatorError {
  readonly code = ErrorCodes.shuttingDown;
  readonly kind = 'transient';

  constructor(appId: string) {
    super(`the worker is shutting down; the rotation of app ${appId} stops at its last checkpoint`);
  }
}
