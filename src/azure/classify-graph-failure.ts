import type { RotatorError } from '../errors/rotator-error.ts';
import { GraphAppNotFoundError } from './errors/graph-app-not-found-error.ts';
import { GraphHttpStatusError } from './errors/graph-http-status-error.ts';
import { GraphLifetimePolicyError } from './errors/graph-lifetime-policy-error.ts';
import { GraphPermissionError } from './errors/graph-permission-error.ts';
import { GraphThrottledError } from './errors/graph-throttled-error.ts';
import { GraphTooManyPasswordsError } from './errors/graph-too-many-passwords-error.ts';
import type { GraphOperation } from './types.ts';

/** A Graph answer that was not a success, reduced to what decides its class. */
export interface GraphFailure {
  readonly status: number;
  readonly graphCode: string | undefined;
  readonly graphMessage: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly headers: Readonly<Record<string, string>>;
}

/** What the failure was about, so the message tells the operator which app and what to change. */
export interface GraphFailureSubject {
  readonly tenantId: string;
  readonly appId: string;
  /** For addPassword: the lifetime asked for, to name it when a policy refuses it. */
  readonly requestedLifetimeDays?: number | undefined;
}

const TOO_MANY = new Set(['TooManyAppPasswords', 'Directory_ResourceSizeExceeded']);

/** Classifies a Graph failure once, into the typed error the queue acts on. A pure function. */
export function classifyGraphFailure(
  operation: GraphOperation,
  failure: GraphFailure,
  subject: GraphFailureSubject,
): RotatorError {
  const app = `app ${subject.appId} in tenant ${subject.tenantId}`;
  const { status, graphCode } = failure;
  if (status === 429) return new GraphThrottledError(operation, failure.retryAfterMs ?? 60_000);
  if (status === 404) {
    return new GraphAppNotFoundError(
      `Graph found no ${app}: check targets[].appId, objectId and tenant (an app registered in another tenant is not visible)`,
    );
  }
  if (status === 403) {
    return new GraphPermissionError(
      `Graph refused ${operation} on ${app} (403 ${graphCode ?? ''}): grant the rotator's identity the application permission Application.ReadWrite.OwnedBy with admin consent, and make its service principal an owner of the app`.replace(
        ' )',
        ')',
      ),
    );
  }
  if (graphCode === 'CredentialInvalidLifetimeAsPerAppPolicy') {
    const asked =
      subject.requestedLifetimeDays === undefined ? '' : ` of ${subject.requestedLifetimeDays} days`;
    return new GraphLifetimePolicyError(
      `the app-management policy of tenant ${subject.tenantId} refuses a secret${asked} on app ${subject.appId}: lower rotation.secretLifetime to what the policy allows`,
    );
  }
  if (graphCode !== undefined && TOO_MANY.has(graphCode)) {
    return new GraphTooManyPasswordsError(
      `${app} holds as many passwords as it may (${graphCode}): remove unused secrets from it, or set rotation.retireUnmanagedKeys, then replay`,
    );
  }
  return new GraphHttpStatusError(operation, status, graphCode, failure.graphMessage);
}
