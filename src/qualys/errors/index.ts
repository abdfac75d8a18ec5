export { QualysAuthError } from './qualys-auth-error.ts';
export { QualysHttpStatusError } from './qualys-http-status-error.ts';
export { QualysInvalidRequestError } from './qualys-invalid-request-error.ts';
export { QualysMalformedResponseError } from './qualys-malformed-response-error.ts';
export { QualysNetworkError } from './qualys-network-error.ts';
export { QualysPartialFailureError } from './qualys-partial-failure-error.ts';
export { QualysRateLimitedError } from './qualys-rate-limited-error.ts';
export { QualysTimeoutError, type TimeoutPhase } from './qualys-timeout-error.ts';
