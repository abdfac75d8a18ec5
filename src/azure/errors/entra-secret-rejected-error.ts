import { ErrorCodes } from '../../errors/codes.ts';
import { RotatorError } from '../../errors/rotator-error.ts';

/** Entra refused a new secret for a reason propagation cannot explain (expired, disabled app, wrong scope). */
export class EntraSecretRejectedError extends RotatorError {
  readonly code = ErrorCodes.entraSecretRejected;
  readonly kind = 'permanent';
  readonly aadsts: number | undefined;

  constructor(message: string, aadsts: number | undefined) {
    super(message);
    this.aadsts = aadsts;
  }
}
