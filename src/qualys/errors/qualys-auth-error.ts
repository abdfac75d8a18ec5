import { ErrorCodes } from '../../errors/codes.ts';
import { RotatorError, type RotatorErrorOptions } from '../../errors/rotator-error.ts';

/** The gateway refused our credentials (bad username or password) or the user lacks the Connector API. */
export class QualysAuthError extends RotatorError {
  readonly code = ErrorCodes.qualysAuth;
  readonly kind = 'permanent';
  readonly status: number;

  constructor(message: string, status: number, options?: RotatorErrorOptions) {
    super(message, options);
    this.status = status;
  }
}
