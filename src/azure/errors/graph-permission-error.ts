import { ErrorCodes } from '../../errors/codes.ts';
import { RotatorError } from '../../errors/rotator-error.ts';

/** Graph refused the operation (403): the rotator lacks `Application.ReadWrite.OwnedBy` or does not own the app. */
export class GraphPermissionError extends RotatorError {
  readonly code = ErrorCodes.graphPermission;
  readonly kind = 'permanent';
}
