import { ErrorCodes } from '../../errors/codes.ts';
import { RotatorError } from '../../errors/rotator-error.ts';

/**
 * The body did not have the shape the API documents. Transient: gateways sometimes answer with an HTML
 * error page; a persistent mismatch ends in the dead-letter queue once attempts run out.
 */
export class QualysMalformedResponseError extends RotatorError {
  readonly code = ErrorCodes.qualysMalformedResponse;
  readonly kind = 'transient';

  constructor(operation: string, problem: string) {
    super(`Qualys ${operation} answered with a malformed body: ${problem}`);
  }
}
