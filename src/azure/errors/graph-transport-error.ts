import { ErrorCodes } from '../../errors/codes.ts';
import { RotatorError } from '../../errors/rotator-error.ts';

/**
 * No usable answer from Graph: a timeout, a broken connection or a body that is not JSON. The request
 * may have been processed, which matters for addPassword (see `reconcileAfterAmbiguousAdd`).
 */
export class GraphTransportError extends RotatorError {
  readonly code = ErrorCodes.graphTransport;
  readonly kind = 'transient';
}
