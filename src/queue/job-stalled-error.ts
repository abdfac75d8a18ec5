import { ErrorCodes } from '../errors/codes.ts';
import { RotatorError } from '../errors/rotator-error.ts';

/**
 * BullMQ gave up on a rotate job: the worker running it died mid-rotation (its lock expired) more than
 * `worker.maxStalledCount` times. Permanent: the job is gone, and rerunning it blindly would only feed
 * a crash loop; an operator replays it once the cause is fixed.
 */
export class JobStalledError extends RotatorError {
  readonly code = ErrorCodes.jobStalled;
  readonly kind = 'permanent';

  constructor(appId: string, stalls: number, maxStalledCount: number) {
    super(
      `the rotation job of app ${appId} stalled ${stalls} time(s) (more than worker.maxStalledCount = ` +
        `${maxStalledCount}): the worker running it died mid-rotation each time (out of memory? a crash ` +
        'loop?); fix the cause, then `rotator dlq replay` retries it (the next run finishes or undoes the ' +
        'interrupted rotation)',
    );
  }
}
