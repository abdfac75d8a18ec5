import { randomUUID } from 'node:crypto';
import { jsonReply, type SimResponse } from '../shared/http-helpers.ts';

/** `2024-05-01 12:34:56Z`, the way Entra writes its error timestamps. */
function entraTimestamp(nowMs: number): string {
  return new Date(nowMs)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
}

/**
 * An OAuth error as Entra's token endpoint sends it. The description starts with `AADSTS<code>: ` and
 * ends with the trace, correlation and timestamp lines, which is what clients (and MSAL) parse.
 */
export function entraError(
  status: number,
  error: string,
  code: number,
  description: string,
  correlationId: string,
  nowMs: number,
  headers: Readonly<Record<string, string>> = {},
): SimResponse {
  const traceId = randomUUID();
  const timestamp = entraTimestamp(nowMs);
  return jsonReply(
    status,
    {
      error,
      error_description: `AADSTS${code}: ${description} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
      error_codes: [code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `https://login.microsoftonline.com/error?code=${code}`,
    },
    { 'Cache-Control': 'no-store, no-cache', Pragma: 'no-cache', ...headers },
  );
}
