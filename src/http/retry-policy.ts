import { backoffDelayMs, type BackoffOptions } from '../util/backoff.ts';
import { header, type HeaderBag } from './headers.ts';
import { requestedWaitMs } from './retry-after.ts';

/** The retry settings shared by every upstream (Qualys, Graph). */
export interface RetryOptions {
  /** Attempts per call, the first included. */
  readonly maxAttempts: number;
  readonly retryBaseDelayMs: number;
  readonly retryMaxDelayMs: number;
  /** A throttling wait longer than this is not slept through; it surfaces as a rate-limit error. */
  readonly maxThrottleWaitMs: number;
}

/** What one attempt ended with, as far as retrying is concerned. */
export type AttemptOutcome =
  | { readonly kind: 'status'; readonly status: number; readonly headers: HeaderBag }
  /** The request certainly did not reach the gateway (refused, connect timeout). */
  | { readonly kind: 'not-sent' }
  /** The request may have been processed (reset after sending, response timeout, garbled body). */
  | { readonly kind: 'ambiguous' };

export type RetryDecision =
  | { readonly action: 'retry'; readonly delayMs: number }
  /** Throttled, and the wait fits: sleep, then retry. */
  | { readonly action: 'wait'; readonly delayMs: number }
  /** Throttled for longer than we sleep in place: surface a rate-limit error carrying the wait. */
  | { readonly action: 'throttled'; readonly delayMs: number }
  | { readonly action: 'give-up' };

export interface RetryContext {
  /** Attempts made so far, this one included (1 after the first). */
  readonly attempt: number;
  readonly maxAttempts: number;
  /** True when repeating the call cannot do harm (GET, PUT, DELETE, sync). */
  readonly idempotent: boolean;
  readonly backoff: BackoffOptions;
  readonly maxThrottleWaitMs: number;
  readonly now: number;
  readonly random?: () => number;
}

/** The retry context for one attempt, from the configured HTTP options. */
export function retryContext(
  http: RetryOptions,
  attempt: number,
  idempotent: boolean,
  now: number,
  random: (() => number) | undefined,
): RetryContext {
  return {
    attempt,
    maxAttempts: http.maxAttempts,
    idempotent,
    backoff: { baseDelayMs: http.retryBaseDelayMs, maxDelayMs: http.retryMaxDelayMs },
    maxThrottleWaitMs: http.maxThrottleWaitMs,
    now,
    ...(random ? { random } : {}),
  };
}

const TRANSIENT_STATUSES = new Set([408, 500, 502, 503, 504]);

/**
 * 429 is a throttle everywhere. Qualys blocks over-limit calls with 409 on its older APIs: a 409 is a
 * throttle only when it carries pacing headers; otherwise it is a real conflict.
 */
export function isThrottle(status: number, headers: HeaderBag): boolean {
  if (status === 429) return true;
  if (status !== 409) return false;
  return (
    header(headers, 'retry-after') !== undefined ||
    header(headers, 'x-ratelimit-towait-sec') !== undefined ||
    header(headers, 'x-concurrency-limit-running') !== undefined ||
    header(headers, 'x-concurrencylimit-running') !== undefined
  );
}

/** The retry decision for one attempt: a pure function, so every branch is unit-tested. */
export function decideRetry(outcome: AttemptOutcome, context: RetryContext): RetryDecision {
  const attemptsLeft = context.attempt < context.maxAttempts;
  const backoff = () => backoffDelayMs(context.attempt, context.backoff, context.random);
  switch (outcome.kind) {
    case 'not-sent':
      return attemptsLeft ? { action: 'retry', delayMs: backoff() } : { action: 'give-up' };
    case 'ambiguous':
      return attemptsLeft && context.idempotent
        ? { action: 'retry', delayMs: backoff() }
        : { action: 'give-up' };
    case 'status': {
      const { status, headers } = outcome;
      if (isThrottle(status, headers)) {
        // A blocked call was not processed, so even a non-idempotent one may be repeated.
        const delayMs = requestedWaitMs(headers, context.now) ?? backoff();
        if (delayMs > context.maxThrottleWaitMs || !attemptsLeft) return { action: 'throttled', delayMs };
        return { action: 'wait', delayMs };
      }
      if (TRANSIENT_STATUSES.has(status) && context.idempotent && attemptsLeft) {
        return { action: 'retry', delayMs: Math.max(backoff(), requestedWaitMs(headers, context.now) ?? 0) };
      }
      return { action: 'give-up' };
    }
  }
}
