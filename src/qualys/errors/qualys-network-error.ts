import { ErrorCodes } from '../../errors/codes.ts';
import { RotatorError, type RotatorErrorOptions } from '../../errors/rotator-error.ts';

/** The connection failed or broke. `requestSent` says whether the gateway may have seen the request. */
export class QualysNetworkError extends RotatorError {
  readonly code = ErrorCodes.qualysNetwork;
  readonly kind = 'transient';
  readonly requestSent: boolean;

  constructor(operation: string, causeCode: string, requestSent: boolean, options?: RotatorErrorOptions) {
    super(`Qualys ${operation} failed: network error ${causeCode}`, options);
    this.requestSent = requestSent;
  }
}
