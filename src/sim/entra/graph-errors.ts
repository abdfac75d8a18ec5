import { jsonReply, type SimResponse } from '../shared/http-helpers.ts';

/** The ids Graph puts in every answer: its own request-id, and the client's client-request-id echoed. */
export interface GraphRequestIds {
  readonly requestId: string;
  readonly clientRequestId: string;
}

/** `2024-05-01T12:34:56`, the way Graph writes innerError.date (no fraction, no zone). */
function graphDate(nowMs: number): string {
  return new Date(nowMs).toISOString().replace(/\.\d{3}Z$/, '');
}

export function graphError(
  status: number,
  code: string,
  message: string,
  ids: GraphRequestIds,
  headers: Readonly<Record<string, string>> = {},
): SimResponse {
  return jsonReply(
    status,
    {
      error: {
        code,
        message,
        innerError: {
          date: graphDate(Date.now()),
          'request-id': ids.requestId,
          'client-request-id': ids.clientRequestId,
        },
      },
    },
    headers,
  );
}

/** The error code Graph uses for a bare status, for injected failures. */
export function graphCodeForStatus(status: number): string {
  switch (status) {
    case 400:
      return 'BadRequest';
    case 401:
      return 'InvalidAuthenticationToken';
    case 403:
      return 'Authorization_RequestDenied';
    case 404:
      return 'Request_ResourceNotFound';
    case 429:
      return 'TooManyRequests';
    case 500:
      return 'InternalServerError';
    case 502:
      return 'BadGateway';
    case 503:
      return 'ServiceUnavailable';
    case 504:
      return 'GatewayTimeout';
    default:
      return 'UnknownError';
  }
}

export function throttled(retryAfterSec: number, ids: GraphRequestIds): SimResponse {
  return graphError(429, 'TooManyRequests', `Too many requests. Retry after ${retryAfterSec} seconds.`, ids, {
    'Retry-After': String(retryAfterSec),
  });
}

export function unreadablePayload(ids: GraphRequestIds): SimResponse {
  return graphError(
    400,
    'BadRequest',
    'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.',
    ids,
  );
}
