import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from '../../../src/util/backoff.ts';
import { jwtExpiresAtMs } from '../../../src/qualys/jwt.ts';
import { parseRateLimitHeaders } from '../../../src/qualys/pacing-headers.ts';
import { requestedWaitMs } from '../../../src/http/retry-after.ts';
import { decideRetry, isThrottle, type RetryContext } from '../../../src/http/retry-policy.ts';

const NOW = Date.parse('2026-12-03T12:00:00Z');
const context = (overrides: Partial<RetryContext> = {}): RetryContext => ({
  attempt: 1,
  maxAttempts: 4,
  idempotent: true,
  backoff: { baseDelayMs: 100, maxDelayMs: 1_000 },
  maxThrottleWaitMs: 30_000,
  now: NOW,
  random: () => 1,
  ...overrides,
});

describe('decideRetry', () => {
  it('retries 5xx on idempotent calls with exponential backoff', () => {
    expect(decideRetry({ kind: 'status', status: 503, headers: {} }, context())).toEqual({
      action: 'retry',
      delayMs: 100,
    });
    expect(decideRetry({ kind: 'status', status: 502, headers: {} }, context({ attempt: 3 }))).toEqual({
      action: 'retry',
      delayMs: 400,
    });
    expect(
      decideRetry({ kind: 'status', status: 500, headers: {} }, context({ attempt: 9, maxAttempts: 10 })),
    ).toEqual({ action: 'retry', delayMs: 1_000 });
  });
  it('honours Retry-After on a 503 when it is longer than the backoff', () => {
    expect(decideRetry({ kind: 'status', status: 503, headers: { 'Retry-After': '3' } }, context())).toEqual({
      action: 'retry',
      delayMs: 3_000,
    });
  });
  it('never repeats a non-idempotent call after an ambiguous failure or a 5xx', () => {
    expect(decideRetry({ kind: 'status', status: 503, headers: {} }, context({ idempotent: false }))).toEqual(
      { action: 'give-up' },
    );
    expect(decideRetry({ kind: 'ambiguous' }, context({ idempotent: false }))).toEqual({ action: 'give-up' });
  });
  it('repeats any call whose request was never sent', () => {
    expect(decideRetry({ kind: 'not-sent' }, context({ idempotent: false }))).toEqual({
      action: 'retry',
      delayMs: 100,
    });
  });
  it('stops when attempts run out', () => {
    expect(decideRetry({ kind: 'status', status: 503, headers: {} }, context({ attempt: 4 }))).toEqual({
      action: 'give-up',
    });
    expect(decideRetry({ kind: 'not-sent' }, context({ attempt: 4 }))).toEqual({ action: 'give-up' });
  });
  it('gives up on other 4xx at once', () => {
    for (const status of [400, 404, 409, 413, 422]) {
      expect(decideRetry({ kind: 'status', status, headers: {} }, context())).toEqual({ action: 'give-up' });
    }
  });
  it('waits on 429 for as long as asked, even on a non-idempotent call', () => {
    expect(
      decideRetry(
        { kind: 'status', status: 429, headers: { 'X-RateLimit-ToWait-Sec': '2' } },
        context({ idempotent: false }),
      ),
    ).toEqual({ action: 'wait', delayMs: 2_000 });
  });
  it('treats 409 as a throttle only with pacing headers', () => {
    expect(decideRetry({ kind: 'status', status: 409, headers: { 'retry-after': '1' } }, context())).toEqual({
      action: 'wait',
      delayMs: 1_000,
    });
    expect(isThrottle(409, { 'x-concurrencylimit-running': '2' })).toBe(true);
    expect(isThrottle(409, {})).toBe(false);
  });
  it('hands long waits to the caller as throttled', () => {
    expect(
      decideRetry({ kind: 'status', status: 429, headers: { 'retry-after': '3600' } }, context()),
    ).toEqual({
      action: 'throttled',
      delayMs: 3_600_000,
    });
  });
});

describe('requestedWaitMs', () => {
  it('reads seconds, an HTTP date, retry-after-ms and X-RateLimit-ToWait-Sec, taking the longest', () => {
    expect(requestedWaitMs({ 'Retry-After': '5' }, NOW)).toBe(5_000);
    expect(requestedWaitMs({ 'retry-after': new Date(NOW + 7_000).toUTCString() }, NOW)).toBe(7_000);
    expect(requestedWaitMs({ 'retry-after-ms': '250' }, NOW)).toBe(250);
    expect(requestedWaitMs({ 'Retry-After': '2', 'X-RateLimit-ToWait-Sec': '9' }, NOW)).toBe(9_000);
    expect(requestedWaitMs({ 'retry-after': new Date(NOW - 7_000).toUTCString() }, NOW)).toBe(0);
  });
  it('ignores what it cannot read', () => {
    expect(requestedWaitMs({ 'retry-after': 'soon' }, NOW)).toBeUndefined();
    expect(requestedWaitMs({}, NOW)).toBeUndefined();
  });
});

describe('parseRateLimitHeaders', () => {
  it('reads every pacing header case-insensitively, in both concurrency spellings', () => {
    expect(
      parseRateLimitHeaders(
        {
          'x-ratelimit-limit': '300',
          'X-RateLimit-Window-Sec': '3600',
          'x-ratelimit-remaining': '12',
          'x-ratelimit-towait-sec': '0',
          'X-ConcurrencyLimit-Limit': '2',
          'x-concurrency-limit-running': '1',
        },
        NOW,
      ),
    ).toEqual({
      limit: 300,
      windowSec: 3600,
      remaining: 12,
      toWaitSec: 0,
      concurrencyLimit: 2,
      concurrencyRunning: 1,
      observedAt: NOW,
    });
  });
  it('returns undefined without pacing headers and skips garbage values', () => {
    expect(parseRateLimitHeaders({ 'content-type': 'application/json' }, NOW)).toBeUndefined();
    expect(
      parseRateLimitHeaders({ 'x-ratelimit-limit': 'lots', 'x-ratelimit-remaining': '-1' }, NOW),
    ).toBeUndefined();
  });
});

describe('backoffDelayMs and jwtExpiresAtMs', () => {
  it('caps the exponential ceiling and applies full jitter', () => {
    const options = { baseDelayMs: 100, maxDelayMs: 1_000 };
    expect(backoffDelayMs(1, options, () => 0.5)).toBe(50);
    expect(backoffDelayMs(20, options, () => 0.999)).toBe(999);
    expect(backoffDelayMs(3, options, () => 0)).toBe(0);
  });
  it('reads exp from a JWT and rejects other text', () => {
    const payload = Buffer.from(JSON.stringify({ exp: 1_800_000_000 })).toString('base64url');
    expect(jwtExpiresAtMs(`e30.${payload}.sig`)).toBe(1_800_000_000_000);
    expect(jwtExpiresAtMs('not-a-jwt')).toBeUndefined();
    expect(jwtExpiresAtMs(`e30.${Buffer.from('{"exp":"x"}').toString('base64url')}.sig`)).toBeUndefined();
    expect(jwtExpiresAtMs('e30.!!!.sig')).toBeUndefined();
  });
});
