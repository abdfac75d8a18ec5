/**
 * The catalogue of stable error codes. Every code here is documented in docs/errors.md (a test checks
 * it), and every error class uses one of these constants.
 */
export const ErrorCodes = {
  configInvalid: 'ROT_ERR_CONFIG_INVALID',
  qualysAuth: 'ROT_ERR_QUALYS_AUTH',
  qualysRateLimited: 'ROT_ERR_QUALYS_RATE_LIMITED',
  qualysHttpStatus: 'ROT_ERR_QUALYS_HTTP_STATUS',
  qualysMalformedResponse: 'ROT_ERR_QUALYS_MALFORMED_RESPONSE',
  qualysPartialFailure: 'ROT_ERR_QUALYS_PARTIAL_FAILURE',
  qualysTimeout: 'ROT_ERR_QUALYS_TIMEOUT',
  qualysNetwork: 'ROT_ERR_QUALYS_NETWORK',
  qualysInvalidRequest: 'ROT_ERR_QUALYS_INVALID_REQUEST',
  graphAppNotFound: 'ROT_ERR_GRAPH_APP_NOT_FOUND',
  graphPermission: 'ROT_ERR_GRAPH_PERMISSION',
  graphLifetimePolicy: 'ROT_ERR_GRAPH_LIFETIME_POLICY',
  graphTooManyPasswords: 'ROT_ERR_GRAPH_TOO_MANY_PASSWORDS',
  graphThrottled: 'ROT_ERR_GRAPH_THROTTLED',
  graphHttpStatus: 'ROT_ERR_GRAPH_HTTP_STATUS',
  graphTransport: 'ROT_ERR_GRAPH_TRANSPORT',
  entraCredential: 'ROT_ERR_ENTRA_CREDENTIAL',
  entraReadinessTimeout: 'ROT_ERR_ENTRA_READINESS_TIMEOUT',
  entraSecretRejected: 'ROT_ERR_ENTRA_SECRET_REJECTED',
  rotationLocked: 'ROT_ERR_ROTATION_LOCKED',
  shuttingDown: 'ROT_ERR_SHUTTING_DOWN',
  jobStalled: 'ROT_ERR_STALLED',
  internal: 'ROT_ERR_INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];
