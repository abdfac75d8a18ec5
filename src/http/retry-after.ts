import { header, type HeaderBag } from './headers.ts';

/**
 * How long the server asked us to wait, in ms, from whichever of these it sent (the longest wins):
 * `Retry-After` (seconds or an HTTP date), `retry-after-ms`, `X-RateLimit-ToWait-Sec`.
 * `undefined` when it sent none we can read.
 */
export function requestedWaitMs(headers: HeaderBag, now: number): number | undefined {
  const candidates: number[] = [];
  const retryAfter = header(headers, 'retry-after')?.trim();
  if (retryAfter !== undefined && retryAfter !== '') {
    if (/^\d+(\.\d+)?$/.test(retryAfter)) candidates.push(Number(retryAfter) * 1000);
    else {
      const date = Date.parse(retryAfter);
      if (Number.isFinite(date)) candidates.push(Math.max(0, date - now));
    }
  }
  const retryAfterMs = header(headers, 'retry-after-ms')?.trim();
  if (retryAfterMs !== undefined && /^\d+(\.\d+)?$/.test(retryAfterMs)) candidates.push(Number(retryAfterMs));
  const toWait = header(headers, 'x-ratelimit-towait-sec')?.trim();
  if (toWait !== undefined && /^\d+(\.\d+)?$/.test(toWait)) candidates.push(Number(toWait) * 1000);
  return candidates.length === 0 ? undefined : Math.ceil(Math.max(...candidates));
}
