/**
 * How a failure must be handled, decided once where the error is created so that the queue layer
 * never has to guess from a message or a status code.
 * - `transient`: retry with backoff (honouring `retryAfterMs` when set).
 * - `throttled`: an upstream asked us to slow down; pause rather than burn an attempt.
 * - `permanent`: retrying cannot help; the item goes to the dead-letter queue.
 */
export type ErrorKind = 'transient' | 'throttled' | 'permanent';

export interface RotatorErrorOptions {
  readonly cause?: unknown;
  readonly retryAfterMs?: number | undefined;
}

/**
 * Base of every error the rotator raises on purpose. Callers match on `code` (stable, documented in
 * docs/errors.md), never on `message`. Messages are written for operators and must never contain a
 * secret, a token or a request body.
 */
export abstract class RotatorError extends Error {
  abstract readonly code: string;
  abstract readonly kind: ErrorKind;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: RotatorErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retryAfterMs = options.retryAfterMs;
  }
}

export function isRotatorError(value: unknown): value is RotatorError {
  return value instanceof RotatorError;
}
