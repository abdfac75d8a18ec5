import { AuthenticationError, CredentialUnavailableError } from '@azure/identity';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyGraphFailure, type GraphFailure } from '../../src/azure/classify-graph-failure.ts';
import { GraphTransportError } from '../../src/azure/errors/index.ts';
import {
  fieldsOf,
  graphErrorDetail,
  parseApplication,
  parsePasswordCredential,
} from '../../src/azure/graph-model.ts';
import { describeIdentityFailure, NOT_YET_PROPAGATED } from '../../src/azure/identity-errors.ts';
import type { GraphOperation } from '../../src/azure/types.ts';
import { ErrorCodes } from '../../src/errors/codes.ts';
import { RotatorError } from '../../src/errors/rotator-error.ts';
import { MAX_REQUESTED_WAIT_MS } from '../../src/http/retry-after.ts';
import { expectNoPrototypePollution, params, replaceAt, withinBudget } from '../support/property.ts';

/**
 * Hostile answers from Entra and Graph: the error bodies @azure/identity hands over unchecked, Graph
 * error bodies, application JSON. Whatever comes, the result is well-typed (an AADSTS code is a whole
 * number or nothing, a summary one bounded sentence) or a `RotatorError`, within a time budget.
 */

expectNoPrototypePollution();

const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.constantFrom(
    'AADSTS7000215: Invalid client secret provided. Trace ID: 1\r\nCorrelation ID: 2',
    'Error(s): 7000215 - Description: AADSTS7000215: Invalid client secret. Trace ID: x',
    'AADSTS99999999999999999999999: overflow',
    'AADSTS700016:',
    'no code at all',
    '',
  ),
  fc
    .tuple(fc.string({ unit: 'binary', maxLength: 6 }), fc.integer({ min: 1_000, max: 50_000 }))
    .map(([piece, times]) => piece.repeat(times)),
);
const anyJson = fc.jsonValue({ maxDepth: 3 });
const oauthBody = fc.record(
  {
    error: fc.oneof(text, anyJson),
    error_description: fc.oneof(text, anyJson),
    error_codes: fc.oneof(
      fc.array(fc.oneof(fc.integer(), fc.constantFrom(7000215, 700016, -1, 1.5, 1e308, 2 ** 53 + 2)), {
        maxLength: 3,
      }),
      fc.constantFrom('7000215', [{}], [null], ['7000215'], {}),
      anyJson,
    ),
    correlation_id: fc.oneof(text, anyJson),
  },
  { requiredKeys: [] },
);
/** What an identity credential can throw: its own errors built from any body, or anything at all. */
const identityFailure: fc.Arbitrary<unknown> = fc.oneof(
  fc
    .tuple(
      fc.oneof(fc.constantFrom(0, 400, 401, 500, 503), fc.integer(), fc.constant(Number.NaN)),
      fc.oneof(
        oauthBody.map((body) => JSON.stringify(body)),
        oauthBody,
        text,
        anyJson,
      ),
    )
    // Its constructor takes text or an object (a number or boolean goes in as its text).
    .map(
      ([status, body]) =>
        new AuthenticationError(
          status,
          typeof body === 'number' || typeof body === 'boolean' ? String(body) : body,
        ),
    ),
  text.map((message) => new CredentialUnavailableError(message)),
  text.map((message) => new Error(message)),
  fc.anything().map((message) => Object.assign(new Error(), { message })),
  fc.anything(),
);

describe('Entra identity failures, whatever the credential threw', () => {
  it('describeIdentityFailure gives an AADSTS number or nothing, and one bounded sentence', () => {
    fc.assert(
      fc.property(identityFailure, (error) => {
        const failure = withinBudget(() => describeIdentityFailure(error));
        if (failure.aadsts !== undefined) {
          expect(Number.isSafeInteger(failure.aadsts)).toBe(true);
          expect(failure.aadsts).toBeGreaterThanOrEqual(0);
        }
        if (failure.oauthError !== undefined) expect(typeof failure.oauthError).toBe('string');
        expect(typeof failure.summary).toBe('string');
        expect(failure.summary.length).toBeLessThanOrEqual(300);
        expect(typeof failure.unreachable).toBe('boolean');
        expect(typeof failure.unavailable).toBe('boolean');
      }),
      params(400),
    );
  });

  it('reads the AADSTS code from error_codes, else from the description', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 99_999_999 }),
        fc.boolean(),
        fc.string({ maxLength: 30 }),
        (code, inCodes, tail) => {
          const description = `AADSTS${code}: something went wrong. Trace ID: ${tail.replace(/\d/g, '')}`;
          const body = JSON.stringify({
            error: 'invalid_client',
            error_description: description,
            ...(inCodes ? { error_codes: [code] } : {}),
          });
          const failure = describeIdentityFailure(new AuthenticationError(401, body));
          expect(failure.aadsts).toBe(code);
          expect(failure.oauthError).toBe('invalid_client');
          expect(failure.summary).toBe(`AADSTS${code}: something went wrong.`);
          expect(NOT_YET_PROPAGATED.has(failure.aadsts ?? -1)).toBe(code === 7000215 || code === 700016);
        },
      ),
      params(200),
    );
  });

  it('regression: error_codes that are not numbers give no AADSTS code', () => {
    // Found by the identity property: `error_codes: "7000215"` gave the code "7" (a string), `[{}]` an object.
    for (const codes of ['7000215', [{}], [null], [1.5], [2 ** 53 + 2]]) {
      const body = JSON.stringify({
        error: 'invalid_client',
        error_description: 'no code here',
        error_codes: codes,
      });
      expect(describeIdentityFailure(new AuthenticationError(401, body)).aadsts).toBeUndefined();
    }
  });

  it('regression: a non-text error or description gives a text summary', () => {
    // Found by the identity property: `error: {}` became the summary, and an Error whose message is not
    // text threw a TypeError from String.prototype.search.
    const body = JSON.stringify({ error: {}, error_description: 5 });
    expect(describeIdentityFailure(new AuthenticationError(400, body)).summary).toBe('authentication failed');
    const odd = Object.assign(new Error(), { message: 5 as unknown as string });
    expect(describeIdentityFailure(odd).summary).toBe('unknown error');
  });
});

// ---------------------------------------------------------------------------------------------
// Graph failures and Graph JSON.

const OPERATIONS: readonly GraphOperation[] = [
  'readApp',
  'listApps',
  'batch',
  'addPassword',
  'removePassword',
];
const GRAPH_CODES: readonly string[] = [
  ErrorCodes.graphAppNotFound,
  ErrorCodes.graphPermission,
  ErrorCodes.graphLifetimePolicy,
  ErrorCodes.graphTooManyPasswords,
  ErrorCodes.graphThrottled,
  ErrorCodes.graphHttpStatus,
];

const graphFailure: fc.Arbitrary<GraphFailure> = fc.record({
  status: fc.oneof(
    fc.constantFrom(400, 403, 404, 408, 409, 429, 500, 503),
    fc.integer(),
    fc.constant(Number.NaN),
  ),
  graphCode: fc.option(
    fc.oneof(
      fc.constantFrom(
        'CredentialInvalidLifetimeAsPerAppPolicy',
        'TooManyAppPasswords',
        'Directory_ResourceSizeExceeded',
      ),
      fc.constantFrom('__proto__', 'constructor', 'toString', ''),
      text,
    ),
    { nil: undefined },
  ),
  graphMessage: fc.option(text, { nil: undefined }),
  // What requestedWaitMs can give: nothing, or a whole number of ms up to its cap.
  retryAfterMs: fc.option(fc.integer({ min: 0, max: MAX_REQUESTED_WAIT_MS }), { nil: undefined }),
  headers: fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 }), { maxKeys: 3 }),
});

describe('Graph failures, on any status, code and message', () => {
  it('classifyGraphFailure gives one Graph RotatorError, throttles with a finite wait', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...OPERATIONS),
        graphFailure,
        fc.option(fc.integer({ min: 1, max: 3_650 }), { nil: undefined }),
        (operation, failure, lifetime) => {
          const error = withinBudget(() =>
            classifyGraphFailure(operation, failure, {
              tenantId: 't-1',
              appId: 'app-1',
              requestedLifetimeDays: lifetime,
            }),
          );
          expect(error).toBeInstanceOf(RotatorError);
          expect(GRAPH_CODES).toContain(error.code);
          expect(['transient', 'throttled', 'permanent']).toContain(error.kind);
          if (failure.status === 429) {
            expect(error.kind).toBe('throttled');
            expect(error.retryAfterMs).toBe(failure.retryAfterMs ?? 60_000);
          }
          if (error.retryAfterMs !== undefined) expect(Number.isFinite(error.retryAfterMs)).toBe(true);
        },
      ),
      params(400),
    );
  });

  it('graphErrorDetail gives a text code and a message of at most 300 characters, or nothing', () => {
    const body = fc.oneof(
      text,
      anyJson,
      fc.record({
        error: fc.oneof(
          fc.record({ code: fc.oneof(text, anyJson), message: fc.oneof(text, anyJson) }),
          anyJson,
        ),
      }),
    );
    fc.assert(
      fc.property(
        fc.oneof(
          body,
          body.map((value) => JSON.stringify(value)),
        ),
        (value) => {
          const detail = withinBudget(() => graphErrorDetail(value));
          if (detail.code !== undefined) expect(typeof detail.code).toBe('string');
          if (detail.message !== undefined) {
            expect(typeof detail.message).toBe('string');
            expect(detail.message.length).toBeLessThanOrEqual(300);
          }
        },
      ),
      params(400),
    );
  });

  it('graphErrorDetail reads {error: {code, message}}, as an object or as its JSON text', () => {
    fc.assert(
      fc.property(fc.string(), fc.string({ maxLength: 600 }), fc.boolean(), (code, message, asText) => {
        const body = { error: { code, message, innerError: { date: '2026-12-03' } } };
        expect(graphErrorDetail(asText ? JSON.stringify(body) : body)).toEqual({
          code,
          message: message.slice(0, 300),
        });
      }),
      params(200),
    );
  });
});

const passwordCredential = fc.record({
  keyId: fc.mixedCase(fc.uuid()),
  displayName: fc.option(fc.string(), { nil: null }),
  startDateTime: fc.option(
    fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
    { nil: null },
  ),
  endDateTime: fc.option(
    fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
    { nil: null },
  ),
  hint: fc.option(fc.string({ maxLength: 3 }), { nil: null }),
});
const application = fc.record({
  id: fc.mixedCase(fc.uuid()),
  appId: fc.mixedCase(fc.uuid()),
  displayName: fc.option(fc.string(), { nil: null }),
  passwordCredentials: fc.array(passwordCredential, { maxLength: 4 }),
});

describe('Graph application JSON', () => {
  it('parseApplication gives an app with lower-cased ids, or throws GraphTransportError, for any mutation', () => {
    const hostile = fc.oneof(anyJson, fc.constantFrom('__proto__', null, [], {}, 1e308, -0, ''), text);
    fc.assert(
      fc.property(
        fc.oneof(application, anyJson),
        fc.array(fc.nat(), { maxLength: 4 }),
        hostile,
        fc.boolean(),
        (app, path, replacement, mutate) => {
          const body: unknown = mutate ? replaceAt(app, path, replacement) : app;
          // Through JSON, as Graph's answers come: `__proto__` is then an own key.
          const parsedBody = JSON.parse(JSON.stringify(body)) as unknown;
          let parsed;
          try {
            parsed = withinBudget(() => parseApplication('tenant-1', parsedBody));
          } catch (error) {
            expect(error).toBeInstanceOf(GraphTransportError);
            return;
          }
          expect(parsed.appId).toBe(parsed.appId.toLowerCase());
          expect(parsed.objectId).toBe(parsed.objectId.toLowerCase());
          for (const password of parsed.passwords) {
            expect(password.keyId).toBe(password.keyId.toLowerCase());
            for (const field of [
              password.displayName,
              password.startDateTime,
              password.endDateTime,
              password.hint,
            ]) {
              expect(field === null || typeof field === 'string').toBe(true);
            }
          }
        },
      ),
      params(400),
    );
  });

  it('fieldsOf reads any body (null, a list, text) as an object, and an object as itself', () => {
    // Listing pages and $batch answers are read through it: a `null` body was a TypeError (ROT_ERR_INTERNAL).
    fc.assert(
      fc.property(fc.oneof(anyJson, fc.constantFrom(null, [], '', 0, true)), (body) => {
        const fields = fieldsOf(body);
        expect(typeof fields).toBe('object');
        expect(fields).not.toBeNull();
        const isObject = typeof body === 'object' && body !== null && !Array.isArray(body);
        if (isObject) expect(fields).toBe(body);
        else expect(Object.keys(fields)).toEqual([]);
        expect(fields.value).toBe(isObject ? (body as Record<string, unknown>).value : undefined);
      }),
      params(300),
    );
  });

  it('a valid application is read into exactly its ids and passwords', () => {
    fc.assert(
      fc.property(application, (app) => {
        expect(parseApplication('tenant-1', JSON.parse(JSON.stringify(app)))).toEqual({
          tenantId: 'tenant-1',
          appId: app.appId.toLowerCase(),
          objectId: app.id.toLowerCase(),
          displayName: app.displayName,
          passwords: app.passwordCredentials.map((credential) => ({
            ...credential,
            keyId: credential.keyId.toLowerCase(),
          })),
        });
        for (const credential of app.passwordCredentials) {
          expect(parsePasswordCredential(app.appId, credential).keyId).toBe(credential.keyId.toLowerCase());
        }
      }),
      params(200),
    );
  });
});
