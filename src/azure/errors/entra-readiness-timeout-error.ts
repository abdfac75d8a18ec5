import { ErrorCodes } from '../../errors/codes.ts';
import { RotatorError } from '../../errors/rotator-error.ts';

/**
 * Entra still refused a new secret when the readiness bound ran out. Transient: the caller removes the
 * key and tries again later with a fresh one.
 */
export class EntraReadinessTimeoutError extends RotatorError {
  readonly code = ErrorCodes.entraReadinessTimeout;
  readonly kind = 'transient';
  readonly attempts: number;

  constructor(appId: string, waitedMs: number, attempts: number) {
    super(
      `Entra did not accept the new secret of app ${appId} within ${Math.round(waitedMs / 1000)} s (${attempts} probes); raise azure.readinessTimeout if this tenant propagates slowly`,
    );
    this.attempts = attempts;
  }
}
