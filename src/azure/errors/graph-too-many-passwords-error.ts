import { ErrorCodes } from '../../errors/codes.ts';
import { RotatorError } from '../../errors/rotator-error.ts';

/** The app holds as many passwords as it may: no new one can be added before one is removed. */
export class GraphTooManyPasswordsError extends RotatorError {
  readonly code = ErrorCodes.graphTooManyPasswords;
  readonly kind = 'permanent';
}
