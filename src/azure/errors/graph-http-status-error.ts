import { ErrorCodes } from '../../errors/codes.ts';
import { RotatorError, type ErrorKind } from '../../errors/rotator-error.ts';

/** An unexpected Graph status: 5xx transient (after our retries), 4xx permanent. */
export class GraphHttpStatusError extends RotatorError {
  readonly code = ErrorCodes.graphHttpStatus;
  readonly kind: ErrorKind;
  readonly status: number;
  /** Graph's own error code, e.g. `Request_BadRequest`. */
  readonly graphCode: string | undefined;

  constructor(operation: string, status: number, graphCode: string | undefined, detail: string | undefined) {
    super(
      `Graph ${operation} answered HTTP ${status}${graphCode ? ` ${graphCode}` : ''}${detail ? `: ${detail}` : ''}`,
    );
    this.status = status;
    this.graphCode = graphCode;
    this.kind = status >= 500 || status === 408 ? 'transient' : 'permanent';
  }
}
