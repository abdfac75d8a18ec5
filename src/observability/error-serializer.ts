import { isRotatorError } from '../errors/rotator-error.ts';

export interface SerializedError {
  type: string;
  message: string;
  code?: string;
  kind?: string;
  status?: number;
  stack?: string;
  cause?: SerializedError;
}

const MAX_CAUSE_DEPTH = 3;

/**
 * Serialises an error by allow-list: type, message, code, kind, status and stack. Anything else an
 * error may carry (a request body, response headers, options with a token) is left out on purpose.
 */
export function serializeError(value: unknown, depth = 0): SerializedError {
  if (!(value instanceof Error)) return { type: typeof value, message: 'non-error value thrown' };
  const out: SerializedError = { type: value.name, message: value.message };
  const code = (value as { code?: unknown }).code;
  if (typeof code === 'string') out.code = code;
  if (isRotatorError(value)) out.kind = value.kind;
  const status =
    (value as { status?: unknown; statusCode?: unknown }).status ??
    (value as { statusCode?: unknown }).statusCode;
  if (typeof status === 'number') out.status = status;
  if (value.stack !== undefined) out.stack = value.stack;
  if (value.cause !== undefined && depth < MAX_CAUSE_DEPTH)
    out.cause = serializeError(value.cause, depth + 1);
  return out;
}
