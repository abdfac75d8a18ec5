import { header, type HeaderBag } from './headers.ts';

/**
 * The longest wait a server may ask for. Qualys' windows are an hour and Graph's waits seconds: a
 * longer one is a broken or hostile header (`Retry-After: 99999999999`, a date in the year 275760),
 * which would otherwise pause the queue for centuries or, as `Infinity`, reach timers and Redis' `PX`
 * as a value they refuse. Capped, the worker tries again a day later.
 */
export const MAX_REQUESTED_WAIT_MS = 24 * 3_600_000;

const DECIMAL = /^\d+(\.\d+)?$/;

/**
 * How long the server asked us to wait, in ms, from whichever of these it sent (the longest wins):
 * `Retry-After` (seconds or an HTTP date), `retry-after-ms`, `X-RateLimit-ToWait-Sec`.
 * `undefined` when it sent none we can read; never more than `MAX_REQUESTED_WAIT_MS`.
 */
export function requestedWaitMs(headers: HeaderBag, now: number): number | undefined {
  const candidates: number[] = [];
  const retryAfter = header(headers, 'retry-after')?.trim();
  if (retryAfter !== undefined && retryAfter !== '') {
    if (DECIMAL.test(retryAfter)) candidates.push(Number(retryAfter) * 1000);
    else {
      const date = Date.parse(retryAfter);
      if (Number.isFinite(date)) candidates.push(Math.max(0, date - now));
    }
  }
  const retryAfterMs = header(headers, 'retry-after-ms')?.trim();
  if (retryAfterMs !== undefined && DECIMAL.test(retryAfterMs)) candidates.push(Number(retryAfterMs));
  const toWait = header(headers, 'x-ratelimit-towait-sec')?.trim();
  if (toWait !== undefined && DECIMAL.test(toWait)) candidates.push(Number(toWait) * 1000);
  return candidates.length === 0
    ? undefined
    : Math.min(MAX_REQUESTED_WAIT_MS, Math.ceil(Math.max(...candidates)));
}
