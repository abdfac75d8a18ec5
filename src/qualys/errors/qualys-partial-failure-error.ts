import { ErrorCodes } from '../../errors/codes.ts';
import { RotatorError } from '../../errors/rotator-error.ts';
import type { BatchResult } from '../types.ts';

/** Some (connector, app) pairs of a batch failed. Thrown only by callers that want all-or-error. */
export class QualysPartialFailureError extends RotatorError {
  readonly code = ErrorCodes.qualysPartialFailure;
  readonly kind = 'permanent';
  readonly result: BatchResult;

  constructor(operation: string, result: BatchResult) {
    const failed = result.outcomes.filter((outcome) => outcome.status === 'failed');
    const sample = failed
      .slice(0, 3)
      .map((outcome) => `${outcome.connectorId}/${outcome.appId}: ${outcome.errorCode ?? 'failed'}`)
      .join('; ');
    super(
      `Qualys ${operation}: ${failed.length} of ${result.outcomes.length} pairs failed${sample === '' ? '' : ` (${sample}${failed.length > 3 ? '; …' : ''})`}`,
    );
    this.result = result;
  }
}
