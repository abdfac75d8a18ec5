import { ErrorCodes } from '../../errors/codes.ts';
import { RotatorError } from '../../errors/rotator-error.ts';

/** We were asked to send something the API cannot accept (caught before any call is made). */
export class QualysInvalidRequestError extends RotatorError {
  readonly code = ErrorCodes.qualysInvalidRequest;
  readonly kind = 'permanent';
}
