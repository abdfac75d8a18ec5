import { ErrorCodes } from '../../errors/codes.ts';
import { RotatorError } from '../../errors/rotator-error.ts';

/** Graph has no application with this appId (or object id) in the tenant, as the rotator sees it. */
export class GraphAppNotFoundError extends RotatorError {
  readonly code = ErrorCodes.graphAppNotFound;
  readonly kind = 'permanent';
}
