import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hasBearerToken } from '../../src/http/bearer-auth.ts';
import { header, type HeaderBag } from '../../src/http/headers.ts';
import { BodyError, MAX_BODY_BYTES, readJsonBody } from '../../src/http/json-body.ts';
import { MAX_REQUESTED_WAIT_MS, requestedWaitMs } from '../../src/http/retry-after.ts';
import {
  decideRetry,
  isThrottle,
  type AttemptOutcome,
  type RetryContext,
} from '../../src/http/retry-policy.ts';
import { parseRateLimitHeaders } from '../../src/qualys/pacing-headers.ts';
import { Secret } from '../../src/util/secret.ts';
import { expectNoPrototypePollution, params, withinBudget } from '../support/property.ts';

/**
 * Header and body parsing of both upstreams and of our own HTTP server, on hostile input: what
 * comes back is well-typed (a wait is a finite whole number of ms within the cap, a pacing value a
 * finite number), within a time budget, and the parsers never throw anything but their own errors.
 */

expectNoPrototypePollution();

const NOW = Date.parse('2026-12-03T12:00:00Z');

const WAIT_HEADERS = ['retry-after', 'retry-after-ms', 'x-ratelimit-towait-sec'];
const PACING_HEADERS = [
  'x-ratelimit-limit',
  'x-ratelimit-window-sec',
  'x-ratelimit-remaining',
  'x-ratelimit-towait-sec',
  'x-concurrency-limit-limit',
  'x-concurrencylimit-limit',
  'x-concurrency-limit-running',
  'x-concurrencylimit-running',
];
const headerName = fc.oneof(
  fc.mixedCase(fc.constantFrom(...WAIT_HEADERS, ...PACING_HEADERS)),
  fc.constantFrom('__proto__', 'constructor', 'toString', 'content-length'),
  fc.string({ maxLength: 12 }),
);
const numberText = fc.oneof(
  fc.constantFrom(
    '0',
    '-0',
    '1',
    '1.5',
    '-1',
    '+1',
    '1e3',
    '1e308',
    '1e999',
    'NaN',
    'Infinity',
    '0x10',
    ' 7 ',
  ),
  fc.constantFrom('9'.repeat(400), `1.${'0'.repeat(400)}1`, '00000000000000000001', ''),
  fc.nat().map(String),
  fc.double().map(String),
);
const dateText = fc.oneof(
  fc.date({ noInvalidDate: true }).map((date) => date.toUTCString()),
  fc.constantFrom(
    'Fri, 31 Dec 275759 23:59:59 GMT',
    'Sat, 13 Sep 275760 00:00:00 GMT',
    'yesterday',
    '2026-13-45',
  ),
);
/** Values as they come from a socket (text, repeated as a list), or from a JSON `$batch` (anything). */
const headerValue = fc.oneof(
  numberText,
  dateText,
  fc.string({ unit: 'binary', maxLength: 30 }),
  // Long values, cheaply: a short random text repeated.
  fc
    .tuple(fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }), fc.integer({ min: 2_000, max: 10_000 }))
    .map(([text, times]) => text.repeat(times)),
  fc.array(fc.oneof(numberText, dateText), { maxLength: 3 }),
  fc.jsonValue({ maxDepth: 2 }),
);
// Built entry by entry, as JSON.parse would, so that `__proto__` becomes a key and not a prototype.
const headerBag: fc.Arbitrary<HeaderBag> = fc
  .array(fc.tuple(headerName, headerValue), { maxLength: 8 })
  .map((entries) => {
    const bag: Record<string, unknown> = {};
    for (const [name, value] of entries) {
      Object.defineProperty(bag, name, { value, enumerable: true, configurable: true, writable: true });
    }
    return bag as HeaderBag;
  });

describe('header lookup and waits, on any headers', () => {
  it('header() gives the first text value of the name in any case, or undefined', () => {
    fc.assert(
      fc.property(headerBag, fc.constantFrom(...WAIT_HEADERS, ...PACING_HEADERS), (bag, name) => {
        const found = withinBudget(() => header(bag, name));
        const oracle = Object.entries(bag as Record<string, unknown>)
          .filter(([key]) => key.toLowerCase() === name)
          .map(([, value]) => (Array.isArray(value) ? (value as unknown[])[0] : value))
          .find((value) => typeof value === 'string');
        expect(found).toBe(oracle);
      }),
      params(500),
    );
  });

  it('requestedWaitMs gives a whole number of ms from 0 to the cap, or undefined', () => {
    fc.assert(
      fc.property(headerBag, (bag) => {
        const waitMs = withinBudget(() => requestedWaitMs(bag, NOW));
        if (waitMs === undefined) return;
        expect(Number.isSafeInteger(waitMs)).toBe(true);
        expect(waitMs).toBeGreaterThanOrEqual(0);
        expect(waitMs).toBeLessThanOrEqual(MAX_REQUESTED_WAIT_MS);
      }),
      params(500),
    );
  });

  it('requestedWaitMs takes the longest of the waits it can read', () => {
    const seconds = fc.integer({ min: 0, max: 100_000 });
    fc.assert(
      fc.property(
        fc.option(seconds, { nil: undefined }),
        fc.option(fc.integer({ min: 0, max: 100_000_000 }), { nil: undefined }),
        fc.option(seconds, { nil: undefined }),
        fc.boolean(),
        (retryAfterSec, retryAfterMs, toWaitSec, asDate) => {
          const bag: Record<string, string> = {};
          if (retryAfterSec !== undefined) {
            bag['Retry-After'] = asDate
              ? new Date(NOW + retryAfterSec * 1000).toUTCString()
              : String(retryAfterSec);
          }
          if (retryAfterMs !== undefined) bag['retry-after-ms'] = String(retryAfterMs);
          if (toWaitSec !== undefined) bag['X-RateLimit-ToWait-Sec'] = String(toWaitSec);
          const candidates = [
            retryAfterSec === undefined ? undefined : retryAfterSec * 1000,
            retryAfterMs,
            toWaitSec === undefined ? undefined : toWaitSec * 1000,
          ].filter((value) => value !== undefined);
          expect(requestedWaitMs(bag, NOW)).toBe(
            candidates.length === 0 ? undefined : Math.min(MAX_REQUESTED_WAIT_MS, Math.max(...candidates)),
          );
        },
      ),
      params(300),
    );
  });

  it('parseRateLimitHeaders gives finite, non-negative numbers or nothing', () => {
    fc.assert(
      fc.property(headerBag, (bag) => {
        const info = withinBudget(() => parseRateLimitHeaders(bag, NOW));
        if (info === undefined) return;
        expect(info.observedAt).toBe(NOW);
        const { observedAt: _observedAt, ...values } = info;
        for (const value of Object.values(values)) {
          if (value === undefined) continue;
          expect(Number.isFinite(value)).toBe(true);
          expect(value).toBeGreaterThanOrEqual(0);
        }
      }),
      params(500),
    );
  });

  it('decideRetry gives a finite, non-negative delay for any answer and attempt', () => {
    const outcome: fc.Arbitrary<AttemptOutcome> = fc.oneof(
      fc.constant({ kind: 'not-sent' as const }),
      fc.constant({ kind: 'ambiguous' as const }),
      fc.record({
        kind: fc.constant('status' as const),
        status: fc.oneof(fc.constantFrom(0, 200, 401, 408, 409, 429, 500, 503, 504), fc.integer()),
        headers: headerBag,
      }),
    );
    const context: fc.Arbitrary<RetryContext> = fc.record({
      attempt: fc.integer({ min: 1, max: 50 }),
      maxAttempts: fc.integer({ min: 1, max: 20 }),
      idempotent: fc.boolean(),
      backoff: fc.record({
        baseDelayMs: fc.integer({ min: 1, max: 60_000 }),
        maxDelayMs: fc.integer({ min: 1, max: 3_600_000 }),
      }),
      maxThrottleWaitMs: fc.integer({ min: 0, max: 3_600_000 }),
      now: fc.constant(NOW),
      random: fc.double({ min: 0, max: 1, noNaN: true }).map((value) => () => value),
    });
    fc.assert(
      fc.property(outcome, context, (attempt, ctx) => {
        const decision = withinBudget(() => decideRetry(attempt, ctx));
        if (attempt.kind === 'status')
          expect(typeof isThrottle(attempt.status, attempt.headers)).toBe('boolean');
        if (decision.action === 'give-up') return;
        expect(Number.isFinite(decision.delayMs)).toBe(true);
        expect(decision.delayMs).toBeGreaterThanOrEqual(0);
        if (decision.action === 'wait') expect(decision.delayMs).toBeLessThanOrEqual(ctx.maxThrottleWaitMs);
      }),
      params(500),
    );
  });

  it('regression: a Retry-After of 400 digits is capped, not Infinity', () => {
    // Found by the wait property: Number('9'.repeat(400)) * 1000 is Infinity, which then paused the queue
    // (Redis PX refuses it) or, through setTimeout, became a 1 ms wait.
    expect(requestedWaitMs({ 'retry-after': '9'.repeat(400) }, NOW)).toBe(MAX_REQUESTED_WAIT_MS);
    expect(requestedWaitMs({ 'retry-after': 'Fri, 31 Dec 275759 23:59:59 GMT' }, NOW)).toBe(
      MAX_REQUESTED_WAIT_MS,
    );
  });

  it('regression: a header value that is not text (a $batch sub-response from JSON) is ignored', () => {
    // Found by the header property: `"Retry-After": 5` reached `.trim()` and threw a TypeError.
    const bag = JSON.parse(
      '{"Retry-After": 5, "retry-after-ms": [null], "x-ratelimit-towait-sec": {}}',
    ) as HeaderBag;
    expect(requestedWaitMs(bag, NOW)).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------
// The admin API's bearer token.

const TOKEN = 'adm1n-T0ken_of~the.property-suite-0123456789';

const request = (authorization: string | undefined): { headers: IncomingHttpHeaders } => ({
  headers: authorization === undefined ? {} : { authorization },
});

describe('bearer token check, on any Authorization header', () => {
  it('accepts exactly "Bearer <token>" (scheme in any case), and nothing else', () => {
    const other = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 80 }),
      fc.string({ unit: 'grapheme-ascii', maxLength: 80 }).map((text) => `Bearer ${text}`),
    );
    fc.assert(
      fc.property(other, (authorization) => {
        const accepted = withinBudget(() => hasBearerToken(request(authorization), new Secret(TOKEN)));
        const oracle = /^bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] === TOKEN;
        expect(accepted).toBe(oracle);
      }),
      params(500),
    );
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      expect(hasBearerToken(request(`${scheme} ${TOKEN}`), new Secret(TOKEN))).toBe(true);
    }
  });

  it('refuses every token that differs, whatever its length, without throwing', () => {
    // A raw `timingSafeEqual` on the tokens themselves throws a RangeError when the lengths differ;
    // on fixed-length digests it never does, and a wrong length is just another wrong token.
    const mutated = fc.oneof(
      fc.nat({ max: TOKEN.length - 1 }).map((end) => TOKEN.slice(0, end)),
      fc.string({ minLength: 1, maxLength: 5 }).map((extra) => TOKEN + extra),
      fc
        .tuple(fc.nat({ max: TOKEN.length - 1 }), fc.string({ minLength: 1, maxLength: 1 }))
        .map(([at, char]) => TOKEN.slice(0, at) + char + TOKEN.slice(at + 1)),
      fc.string({ unit: 'binary', minLength: TOKEN.length, maxLength: TOKEN.length }),
      fc.mixedCase(fc.constant(TOKEN)),
    );
    fc.assert(
      fc.property(mutated, (offered) => {
        fc.pre(offered !== TOKEN);
        expect(hasBearerToken(request(`Bearer ${offered}`), new Secret(TOKEN))).toBe(false);
      }),
      params(500),
    );
    expect(hasBearerToken(request(undefined), new Secret(TOKEN))).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// The admin API's JSON bodies.

function body(chunks: readonly Buffer[], headers: IncomingHttpHeaders) {
  return Object.assign(Readable.from(chunks), { headers });
}

async function settleBody(
  chunks: readonly Buffer[],
  headers: IncomingHttpHeaders,
): Promise<{ value: unknown } | { error: BodyError }> {
  try {
    return { value: await readJsonBody(body(chunks, headers), { timeoutMs: 1_000 }) };
  } catch (error) {
    if (error instanceof BodyError) return { error };
    throw error;
  }
}

const contentType = fc.oneof(
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'APPLICATION/JSON',
    'application/merge-patch+json',
  ),
  fc.constantFrom(
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    '',
    'json',
  ),
  fc.string({ maxLength: 20 }),
);
const bodyBytes = fc.oneof(
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
  fc.json().map((text) => Buffer.from(text)),
  fc.string({ unit: 'binary' }).map((text) => Buffer.from(text)),
  fc.integer({ min: MAX_BODY_BYTES - 16, max: 3 * MAX_BODY_BYTES }).map((size) => Buffer.alloc(size, 0x20)),
);
/** A body cut into chunks at arbitrary points, as a socket delivers it. */
const chunked = fc.tuple(bodyBytes, fc.array(fc.nat(), { maxLength: 4 })).map(([bytes, cuts]) => {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  return [0, ...points, bytes.length]
    .slice(1)
    .map((end, index, ends) => bytes.subarray(index === 0 ? 0 : ends[index - 1], end));
});

describe('JSON body reading, on any body', () => {
  it('gives the parsed JSON or a BodyError with the status to answer', async () => {
    await fc.assert(
      fc.asyncProperty(chunked, contentType, fc.boolean(), async (chunks, type, declareLength) => {
        const size = chunks.reduce((total, chunk) => total + chunk.length, 0);
        const headers: IncomingHttpHeaders = declareLength
          ? { 'content-type': type, 'content-length': String(size) }
          : { 'content-type': type, 'transfer-encoding': 'chunked' };
        const settled = await settleBody(chunks, headers);
        const text = Buffer.concat(chunks).toString('utf8').trim();
        const json = /^application\/(.*\+)?json$/i.test(type.split(';')[0]?.trim() ?? '');
        if ('error' in settled) {
          const hasBody = !declareLength || size > 0;
          const expected = hasBody && !json ? 415 : size > MAX_BODY_BYTES ? 413 : 400;
          expect(settled.error.status).toBe(expected);
          return;
        }
        expect(json || (declareLength && size === 0)).toBe(true);
        expect(size).toBeLessThanOrEqual(MAX_BODY_BYTES);
        expect(settled.value).toEqual(text === '' ? {} : JSON.parse(text));
      }),
      params(300),
    );
  });

  it('regression: a body that never ends is refused with 408 after the timeout', async () => {
    // Found by the admin hostile tests: a Content-Length larger than what is sent held the request open.
    const stalled = Object.assign(new Readable({ read: () => undefined }), {
      headers: { 'content-type': 'application/json', 'content-length': '100' },
    });
    stalled.push('{"all":');
    const error: unknown = await readJsonBody(stalled, { timeoutMs: 50 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BodyError);
    expect((error as BodyError).status).toBe(408);
  });

  it('regression: a client that hangs up mid-body is a BodyError, not an internal error', async () => {
    const aborted = Object.assign(new Readable({ read: () => undefined }), {
      headers: { 'content-type': 'application/json', 'content-length': '100' },
    });
    aborted.push('{"all":');
    setImmediate(() => aborted.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })));
    const error: unknown = await readJsonBody(aborted, { timeoutMs: 5_000 }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(BodyError);
    expect((error as BodyError).status).toBe(400);
  });

  it('regression: a JSON body sent as text/plain is refused with 415, not parsed', async () => {
    const settled = await settleBody([Buffer.from('{"all":true}')], {
      'content-type': 'text/plain',
      'content-length': '12',
    });
    expect('error' in settled && settled.error.status).toBe(415);
  });
});
