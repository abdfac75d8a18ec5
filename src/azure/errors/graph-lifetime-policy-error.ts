import { ErrorCodes } from '../../errors/codes.ts';
import { RotatorError } from '../../errors/rotator-error.ts';

/** The tenant's app-management policy refuses a secret of the requested lifetime. */
export class GraphLifetimePolicyError extends RotatorError {
  readonly code = ErrorCodes.graphLifetimePolicy;
  readonly kind = 'permanent';
}
