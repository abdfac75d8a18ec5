import { header, type HeaderBag } from '../http/headers.ts';
import type { RateLimitInfo } from './types.ts';

function numberHeader(headers: HeaderBag, ...names: string[]): number | undefined {
  for (const name of names) {
    const raw = header(headers, name);
    if (raw === undefined) continue;
    const value = Number(raw.trim());
    if (raw.trim() !== '' && Number.isFinite(value) && value >= 0) return value;
  }
  return undefined;
}

/**
 * Reads the Qualys pacing headers. One Qualys page spells the concurrency header
 * `X-ConcurrencyLimit-Limit`, so both spellings are accepted.
 */
export function parseRateLimitHeaders(headers: HeaderBag, observedAt: number): RateLimitInfo | undefined {
  const info: RateLimitInfo = {
    limit: numberHeader(headers, 'x-ratelimit-limit'),
    windowSec: numberHeader(headers, 'x-ratelimit-window-sec'),
    remaining: numberHeader(headers, 'x-ratelimit-remaining'),
    toWaitSec: numberHeader(headers, 'x-ratelimit-towait-sec'),
    concurrencyLimit: numberHeader(headers, 'x-concurrency-limit-limit', 'x-concurrencylimit-limit'),
    concurrencyRunning: numberHeader(headers, 'x-concurrency-limit-running', 'x-concurrencylimit-running'),
    observedAt,
  };
  const { observedAt: _ignored, ...values } = info;
  return Object.values(values).some((value) => value !== undefined) ? info : undefined;
}
