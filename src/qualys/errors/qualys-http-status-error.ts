import { ErrorCodes } from '../../errors/codes.ts';
import { RotatorError, type ErrorKind } from '../../errors/rotator-error.ts';

/** An HTTP status we did not expect. 5xx are transient (after our own retries); 4xx permanent. */
export class QualysHttpStatusError extends RotatorError {
  readonly code = ErrorCodes.qualysHttpStatus;
  readonly kind: ErrorKind;
  readonly status: number;

  constructor(operation: string, status: number, detail?: string) {
    super(`Qualys ${operation} answered HTTP ${status}${detail === undefined ? '' : `: ${detail}`}`);
    this.status = status;
    this.kind = status >= 500 || status === 408 ? 'transient' : 'permanent';
  }
}
