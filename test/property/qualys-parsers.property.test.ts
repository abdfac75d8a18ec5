import fc from 'fast-check';
import { MockAgent } from 'undici';
import { describe, expect, it } from 'vitest';
import type { QualysHttpOptions } from '../../src/config/types.ts';
import { ErrorCodes } from '../../src/errors/codes.ts';
import { RotatorError } from '../../src/errors/rotator-error.ts';
import { QualysConnectorClient } from '../../src/qualys/connector-api-client.ts';
import { QualysMalformedResponseError } from '../../src/qualys/errors/index.ts';
import { jwtExpiresAtMs } from '../../src/qualys/jwt.ts';
import {
  describeFailure,
  looksLikeBatch,
  parseBatchResponse,
  parseJson,
  parseListResponse,
  parseSyncResponse,
  scrubFailure,
  type RequestedPair,
} from '../../src/qualys/response-parsers.ts';
import type { BatchResult, ConnectorMapping, QualysOperation } from '../../src/qualys/types.ts';
import { Secret } from '../../src/util/secret.ts';
import { captureLogger } from '../support/log-capture.ts';
import { expectNoSecrets } from '../support/leak-scan.ts';
import { expectNoPrototypePollution, params, withinBudget } from '../support/property.ts';

/**
 * Hostile answers from the Qualys gateway: every parser either returns a well-typed result or throws
 * a `RotatorError`, within a time budget, without touching `Object.prototype`, and never hands back
 * a secret we sent. Where valid answers can be generated, they parse into exactly what they hold.
 */

/** The result, or the typed error thrown; any other throw propagates and fails the property. */
function settle<T>(run: () => T): { value: T } | { error: RotatorError } {
  try {
    return { value: withinBudget(run) };
  } catch (error) {
    if (error instanceof RotatorError) return { error };
    throw error;
  }
}

expectNoPrototypePollution();

// Secrets as Entra generates them; the generators below hide them in values, keys and messages.
const SENT_SECRETS = ['Q7~k3Hn.Wb_5xTz8qLs2Vd9ApRy4Me6UcGi0oJf', 'z9_Ab8.Cd7~Ef6Gh5Ij4Kl3Mn2Op1Qr0StUvWx'];
const secretLike = fc.constantFrom(
  ...SENT_SECRETS,
  ...SENT_SECRETS.map((secret) => `invalid secretKey ${secret} for app`),
);

const KNOWN_KEYS = [
  'message',
  'successData',
  'failures',
  'failure',
  'errors',
  'data',
  'connectorUuid',
  'connectorId',
  'connector_uuid',
  'connector',
  'uuid',
  'appId',
  'appIds',
  'applicationId',
  'app',
  'errorCode',
  'code',
  'status',
  'error',
  'reason',
  'secretKey',
  'clientSecret',
];
const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty'];
const key = fc.oneof(
  fc.constantFrom(...KNOWN_KEYS),
  fc.constantFrom(...HOSTILE_KEYS),
  fc.string({ unit: 'binary', maxLength: 12 }),
  secretLike,
);

// JSON text can hold what JSON.stringify never writes: 1e999 parses to Infinity, -0 stays -0.
const scalarText = fc.oneof(
  fc.constantFrom('null', 'true', 'false', '0', '-0', '1e308', '-1e308', '1e999', '-1e999', '5e-324'),
  fc.constantFrom('9007199254740993', '""', '"[REDACTED]"'),
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((value) => JSON.stringify(value)),
  fc.string({ unit: 'binary', maxLength: 40 }).map((text) => JSON.stringify(text)),
  fc.uuid().map((id) => JSON.stringify(id)),
  fc.mixedCase(fc.uuid()).map((id) => JSON.stringify(`connector ${id} failed`)),
  secretLike.map((text) => JSON.stringify(text)),
);
const { jsonText } = fc.letrec<{ jsonText: string }>((tie) => ({
  jsonText: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalarText,
    fc.array(tie('jsonText'), { maxLength: 6 }).map((items) => `[${items.join(',')}]`),
    fc
      .array(fc.tuple(key, tie('jsonText')), { maxLength: 6 })
      .map((entries) => `{${entries.map(([name, value]) => `${JSON.stringify(name)}:${value}`).join(',')}}`),
  ),
}));

/** Structures no generator reaches by chance: very deep, very wide, very long. */
const extremeText = fc.oneof(
  fc.integer({ min: 1_000, max: 50_000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
  fc
    .integer({ min: 1_000, max: 20_000 })
    .map((depth) => '{"failures":[' + '{"a":'.repeat(depth) + '"x"' + '}'.repeat(depth) + ']}'),
  fc
    .integer({ min: 1_000, max: 20_000 })
    .map(
      (depth) =>
        `{"failures":[${'{"a":'.repeat(depth)}${JSON.stringify(SENT_SECRETS[0])}${'}'.repeat(depth)}]}`,
    ),
  fc.integer({ min: 10_000, max: 100_000 }).map((width) => `{"failures":[${'"x",'.repeat(width)}"x"]}`),
  fc
    .integer({ min: 100_000, max: 1_000_000 })
    .map((length) => `{"message":"${'a'.repeat(length)}","failures":["${'b'.repeat(length)}"]}`),
  fc.constant(`{"successData":{${'"x":["y"],'.repeat(20_000)}"z":["w"]}}`),
);

/** Any text a gateway could send: arbitrary strings, arbitrary JSON, hostile JSON, extremes. */
const bodyText = fc.oneof(
  { weight: 1, arbitrary: fc.string({ unit: 'binary' }) },
  { weight: 2, arbitrary: fc.json() },
  { weight: 4, arbitrary: jsonText },
  { weight: 1, arbitrary: extremeText },
);

// Connector and app ids drawn from one pool, so that no id is both (fast-check favours a few UUIDs).
const requestedPairs = fc
  .tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }))
  .chain(([connectors, apps]) =>
    fc
      .uniqueArray(fc.uuid(), { minLength: connectors + apps, maxLength: connectors + apps })
      .map((pool) => ({ connectors: pool.slice(0, connectors), apps: pool.slice(connectors) })),
  )
  .map(({ connectors, apps }) =>
    connectors.flatMap((connectorId) => apps.map((appId) => ({ connectorId, appId }))),
  );

/** What every batch result must satisfy, whatever the body was. */
function expectWellTypedBatch(
  result: BatchResult,
  requested: readonly RequestedPair[],
  status: number,
): void {
  expect(result.httpStatus).toBe(status);
  expect(result.outcomes.map(({ connectorId, appId }) => ({ connectorId, appId }))).toEqual(requested);
  for (const outcome of result.outcomes) {
    expect(['succeeded', 'failed', 'unconfirmed']).toContain(outcome.status);
    for (const text of [outcome.errorCode, outcome.message])
      expect(['string', 'undefined']).toContain(typeof text);
  }
  expect(['string', 'undefined']).toContain(typeof result.message);
  expect(Array.isArray(result.unmatchedFailures)).toBe(true);
  // The result is logged and stored as JSON: it must serialise, and hold no secret we sent.
  const serialised = JSON.stringify(result);
  for (const secret of SENT_SECRETS) expect(serialised).not.toContain(secret);
}

const OPERATIONS: readonly QualysOperation[] = ['register', 'update', 'delete'];

describe('Qualys response parsers, on any input', () => {
  it('parseJson returns a value or throws QualysMalformedResponseError', () => {
    fc.assert(
      fc.property(bodyText, (text) => {
        const settled = settle(() => parseJson('list', text));
        if ('error' in settled) expect(settled.error).toBeInstanceOf(QualysMalformedResponseError);
      }),
      params(400),
    );
  });

  it('parseBatchResponse gives one typed outcome per requested pair, holding no secret, or a malformed-body error', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...OPERATIONS),
        fc.constantFrom(200, 201, 207, 400, 404, 409),
        bodyText,
        requestedPairs,
        (operation, status, text, requested) => {
          const settled = settle(() =>
            parseBatchResponse(operation, status, parseJson(operation, text), requested, SENT_SECRETS),
          );
          if ('error' in settled) expect(settled.error).toBeInstanceOf(QualysMalformedResponseError);
          else expectWellTypedBatch(settled.value, requested, status);
        },
      ),
      params(400),
    );
  });

  it('parseBatchResponse survives any mutation of a valid answer', () => {
    fc.assert(
      fc.property(validBatch, fc.array(fc.nat(), { maxLength: 6 }), jsonText, (batch, path, replacement) => {
        const body = replaceAt(
          JSON.parse(JSON.stringify(batch.body)) as unknown,
          path,
          JSON.parse(replacement),
        );
        const settled = settle(() => parseBatchResponse('update', 200, body, batch.requested, SENT_SECRETS));
        if ('error' in settled) expect(settled.error).toBeInstanceOf(QualysMalformedResponseError);
        else expectWellTypedBatch(settled.value, batch.requested, 200);
      }),
      params(400),
    );
  });

  it('looksLikeBatch, describeFailure and scrubFailure accept anything, and scrubbing drops every sent secret', () => {
    fc.assert(
      fc.property(bodyText, (text) => {
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch {
          value = text;
        }
        withinBudget(() => {
          expect(typeof looksLikeBatch(value)).toBe('boolean');
          const scrubbed = scrubFailure(value, SENT_SECRETS);
          const serialised = JSON.stringify(scrubbed) as string | undefined;
          for (const secret of SENT_SECRETS) expect(serialised ?? '').not.toContain(secret);
          const described = describeFailure(scrubbed);
          for (const list of [described.connectorIds, described.appIds]) {
            if (list !== undefined) for (const id of list) expect(typeof id).toBe('string');
          }
          expect(['string', 'undefined']).toContain(typeof described.errorCode);
          expect(['string', 'undefined']).toContain(typeof described.message);
        });
      }),
      params(400),
    );
  });

  it('parseListResponse gives lower-cased string ids or throws QualysMalformedResponseError', () => {
    fc.assert(
      fc.property(bodyText, (text) => {
        const settled = settle(() => parseListResponse(parseJson('list', text)));
        if ('error' in settled) {
          expect(settled.error).toBeInstanceOf(QualysMalformedResponseError);
          return;
        }
        for (const mapping of settled.value) {
          expect(typeof mapping.connectorId).toBe('string');
          expect(mapping.connectorId).toBe(mapping.connectorId.toLowerCase());
          for (const appId of mapping.appIds) expect(appId).toBe(appId.toLowerCase());
        }
      }),
      params(400),
    );
  });

  it('parseSyncResponse gives a string or no message, or throws QualysMalformedResponseError', () => {
    fc.assert(
      fc.property(bodyText, (text) => {
        const settled = settle(() => parseSyncResponse(text));
        if ('error' in settled) expect(settled.error).toBeInstanceOf(QualysMalformedResponseError);
        else expect(['string', 'undefined']).toContain(typeof settled.value.message);
      }),
      params(400),
    );
  });

  it('jwtExpiresAtMs gives undefined or an instant a Date can hold, for any text', () => {
    const claims = fc.oneof(
      jsonText,
      fc.constantFrom('{"exp":1e13}', '{"exp":1e308}', '{"exp":-1e13}', '{"exp":1e999}'),
    );
    const token = fc.oneof(
      fc.string({ unit: 'binary' }),
      claims.map((payload) => `eyJhbGciOiJub25lIn0.${Buffer.from(payload).toString('base64url')}.sig`),
    );
    fc.assert(
      fc.property(token, (text) => {
        const ms = withinBudget(() => jwtExpiresAtMs(text));
        if (ms !== undefined) expect(() => new Date(ms).toISOString()).not.toThrow();
      }),
      params(400),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Valid answers, generated from the shapes the spec shows, and what they must parse into.

type PairFate = 'succeeded' | 'failed' | 'unconfirmed';

interface GeneratedBatch {
  readonly requested: RequestedPair[];
  readonly body: Record<string, unknown>;
  /** What each requested pair must come out as, in request order. */
  readonly expected: { status: PairFate; errorCode?: string; message?: string }[];
  readonly unmatched: unknown[];
}

const failureShape = fc.constantFrom('object', 'object-list', 'text');
const caseOf = (text: string, upper: boolean) => (upper ? text.toUpperCase() : text);

const validBatch: fc.Arbitrary<GeneratedBatch> = requestedPairs.chain((requested) =>
  fc
    .record({
      fates: fc.array(fc.constantFrom<PairFate>('succeeded', 'failed', 'unconfirmed'), {
        minLength: requested.length,
        maxLength: requested.length,
      }),
      shapes: fc.array(failureShape, { minLength: requested.length, maxLength: requested.length }),
      codes: fc.array(fc.string({ maxLength: 10 }), {
        minLength: requested.length,
        maxLength: requested.length,
      }),
      upper: fc.array(fc.boolean(), { minLength: requested.length, maxLength: requested.length }),
      // A failed pair may also be listed as a success: the failure wins.
      alsoSucceeded: fc.array(fc.boolean(), { minLength: requested.length, maxLength: requested.length }),
      successAsList: fc.boolean(),
      strangers: fc.array(fc.tuple(fc.uuid(), fc.uuid()), { maxLength: 3 }),
    })
    .map(({ fates, shapes, codes, upper, alsoSucceeded, successAsList, strangers }): GeneratedBatch => {
      const succeeded = new Map<string, string[]>();
      const failures: unknown[] = [];
      const expected = requested.map((pair, index) => {
        const fate = fates[index]!;
        const up = upper[index]!;
        const connector = caseOf(pair.connectorId, up);
        const app = caseOf(pair.appId, up);
        if (fate === 'succeeded' || (fate === 'failed' && alsoSucceeded[index]!)) {
          succeeded.set(connector, [...(succeeded.get(connector) ?? []), app]);
        }
        if (fate !== 'failed') return { status: fate };
        const code = codes[index]!;
        const message = `could not store the secret of ${app}`;
        switch (shapes[index]!) {
          case 'object':
            failures.push({ connectorUuid: connector, appId: app, errorCode: code, errorMessage: message });
            return { status: fate, errorCode: code === '' ? undefined : code, message };
          case 'object-list':
            failures.push({ connectorId: connector, appIds: [app], code, message });
            return { status: fate, errorCode: code === '' ? undefined : code, message };
          case 'text': {
            const text = `connector ${connector}: app ${app} was refused`;
            failures.push(text);
            return { status: fate, errorCode: undefined, message: text };
          }
        }
      });
      const known = new Set(requested.flatMap((pair) => [pair.connectorId, pair.appId]));
      const unmatched = strangers
        .filter(([connectorUuid, appId]) => !known.has(connectorUuid) && !known.has(appId))
        .map(([connectorUuid, appId]) => ({ connectorUuid, appId, errorCode: 'X' }));
      const successData = successAsList
        ? [...succeeded].map(([connectorUuid, appIds]) => ({ connectorUuid, appIds }))
        : Object.fromEntries(succeeded);
      return {
        requested,
        body: { message: 'processed', successData, failures: [...failures, ...unmatched] },
        expected: expected.map((entry) =>
          Object.fromEntries(Object.entries(entry).filter(([, value]) => value !== undefined)),
        ) as GeneratedBatch['expected'],
        unmatched,
      };
    }),
);

/** `value` with the node that `path` picks (numbers chosen modulo the children) replaced. */
function replaceAt(value: unknown, path: readonly number[], replacement: unknown): unknown {
  const [choice, ...rest] = path;
  if (choice === undefined || value === null || typeof value !== 'object') return replacement;
  if (Array.isArray(value)) {
    if (value.length === 0) return replacement;
    const copy: unknown[] = [...(value as unknown[])];
    const index = choice % copy.length;
    copy[index] = replaceAt(copy[index], rest, replacement);
    return copy;
  }
  const entries = Object.entries(value);
  const picked = entries[choice % Math.max(entries.length, 1)];
  if (picked === undefined) return replacement;
  return Object.fromEntries(
    entries.map(([name, child]) => [name, name === picked[0] ? replaceAt(child, rest, replacement) : child]),
  );
}

describe('Qualys response parsers, on valid answers', () => {
  it('a batch answer is read into exactly the pairs it confirms, fails and leaves out', () => {
    fc.assert(
      fc.property(validBatch, fc.constantFrom(...OPERATIONS), (batch, operation) => {
        const text = JSON.stringify(batch.body);
        const result = parseBatchResponse(
          operation,
          200,
          parseJson(operation, text),
          batch.requested,
          SENT_SECRETS,
        );
        expect(result.outcomes).toEqual(
          batch.requested.map((pair, index) => ({ ...pair, ...batch.expected[index] })),
        );
        expect(result.unmatchedFailures).toEqual(batch.unmatched);
        expect(result.message).toBe('processed');
      }),
      params(300),
    );
  });

  it('a list answer is read into its mappings, ids lower-cased, bare or inside {data}', () => {
    const mappings = fc.uniqueArray(
      fc.record({ connectorId: fc.uuid(), appIds: fc.array(fc.uuid(), { maxLength: 4 }) }),
      { selector: (mapping) => mapping.connectorId, maxLength: 5 },
    );
    fc.assert(
      fc.property(
        mappings,
        fc.boolean(),
        fc.constantFrom('connectorUuid', 'connectorId', 'connector_uuid'),
        fc.boolean(),
        (expected: ConnectorMapping[], wrapped, connectorKey, upper) => {
          const entries = expected.map((mapping) => ({
            [connectorKey]: caseOf(mapping.connectorId, upper),
            appIds: mapping.appIds.map((appId) => caseOf(appId, upper)),
          }));
          const text = JSON.stringify(wrapped ? { data: entries } : entries);
          expect(parseListResponse(parseJson('list', text))).toEqual(expected);
        },
      ),
      params(300),
    );
  });

  it('a JWT exp within the range of a Date is read back in ms', () => {
    fc.assert(
      fc.property(fc.integer({ min: -8_640_000_000_000, max: 8_640_000_000_000 }), (exp) => {
        const payload = Buffer.from(JSON.stringify({ sub: 'svc', exp })).toString('base64url');
        expect(jwtExpiresAtMs(`eyJhbGciOiJub25lIn0.${payload}.sig`)).toBe(exp * 1000);
      }),
      params(200),
    );
  });
});

describe('Qualys response parsers: regressions the properties found', () => {
  const [secret] = SENT_SECRETS as [string];

  it('drops a sent secret nested deeper than the scrubbing goes, instead of keeping it raw', () => {
    // Found by the scrubbing property: below depth 5 entries were returned as they came.
    const deep = { a: { b: { c: { d: { e: { f: { g: secret } } } } } } };
    expect(JSON.stringify(scrubFailure(deep, SENT_SECRETS))).not.toContain(secret);
  });

  it('drops a sent secret used as a key', () => {
    expect(JSON.stringify(scrubFailure({ [secret]: 'rejected' }, SENT_SECRETS))).not.toContain(secret);
  });

  it('keeps an unmatched failure serialisable however deep it is', () => {
    const text = `{"failures":[${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}]}`;
    const result = parseBatchResponse('update', 200, parseJson('update', text), [], SENT_SECRETS);
    expect(() => JSON.stringify(result)).not.toThrow();
  });
});

// ---------------------------------------------------------------------------------------------
// The whole client, on any answer: transport, retries, token, parsers together.

const GATEWAY = 'https://gateway.property.test';
const HTTP: QualysHttpOptions = {
  connectTimeoutMs: 200,
  headersTimeoutMs: 200,
  bodyTimeoutMs: 200,
  maxAttempts: 2,
  retryBaseDelayMs: 1,
  retryMaxDelayMs: 2,
  // Throttles surface at once (as a typed error) instead of being slept through.
  maxThrottleWaitMs: 0,
  tokenRefreshBeforeExpiryMs: 1_000,
};
const PASSWORD = 'P4ssw0rd-of-the-property-user~42';
const A1 = 'a2f88fdf-2222-4222-8222-0f4a08195669';
const C1 = '5dab0fb0-1111-4111-8111-08927bc515ec';

const headerValue = fc.oneof(
  fc.constantFrom('0', '1', '1.5', '-1', '1e308', '99999999999999999999999', 'soon', ''),
  fc.constantFrom('Fri, 31 Dec 275759 23:59:59 GMT', 'Thu, 01 Jan 1970 00:00:00 GMT'),
  fc.string({ unit: 'grapheme-ascii', maxLength: 20 }).map((text) => text.replace(/[\r\n]/g, '')),
);
const answerHeaders = fc.dictionary(
  fc.constantFrom(
    'retry-after',
    'retry-after-ms',
    'x-ratelimit-limit',
    'x-ratelimit-remaining',
    'x-ratelimit-towait-sec',
    'x-ratelimit-window-sec',
    'x-concurrency-limit-running',
    'x-concurrencylimit-limit',
    'content-type',
  ),
  headerValue,
  { maxKeys: 4 },
);
const answer = fc.record({
  status: fc.oneof(
    fc.constantFrom(200, 201, 204, 207, 400, 401, 403, 404, 409, 413, 429, 500, 502, 503, 504),
    fc.integer({ min: 200, max: 599 }),
  ),
  headers: answerHeaders,
  body: bodyText,
});
const authAnswer = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ status: 201, headers: {}, body: 'eyJhbGciOiJub25lIn0.e30.sig' }) },
  { weight: 1, arbitrary: answer },
  {
    weight: 1,
    arbitrary: fc.oneof(jsonText, fc.constantFrom('{"exp":1e13}', '{"exp":-1e13}')).map((payload) => ({
      status: 201,
      headers: {},
      body: `eyJhbGciOiJub25lIn0.${Buffer.from(payload).toString('base64url')}.sig`,
    })),
  },
);

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** A client whose gateway answers `/auth` with `auth` and every API call with `api`. */
function clientAnswering(auth: Answer, api: Answer) {
  const agent = new MockAgent();
  agent.disableNetConnect();
  const pool = agent.get(GATEWAY);
  pool
    .intercept({ path: '/auth', method: 'POST' })
    .reply(auth.status, auth.body, { headers: auth.headers })
    .persist();
  pool
    .intercept({ path: (path) => path.startsWith('/connectors/'), method: () => true })
    .reply(api.status, api.body, { headers: api.headers })
    .persist();
  const captured = captureLogger('trace');
  const client = new QualysConnectorClient({
    gatewayUrl: GATEWAY,
    username: 'svc-property',
    password: new Secret(PASSWORD),
    http: HTTP,
    logger: captured.logger,
    dispatcher: agent,
    random: () => 0.5,
  });
  return {
    client,
    lines: captured.lines,
    close: async () => {
      await client.close();
      await agent.close();
    },
  };
}

const calls = {
  update: (client: QualysConnectorClient) =>
    client.updateSecondaryApplications({
      mappings: [{ connectorId: C1, appIds: [A1] }],
      credentials: [{ appId: A1, secret: new Secret(SENT_SECRETS[0]!) }],
    }),
  register: (client: QualysConnectorClient) =>
    client.registerSecondaryApplications({
      mappings: [{ connectorId: C1, appIds: [A1] }],
      credentials: [{ appId: A1, secret: new Secret(SENT_SECRETS[1]!) }],
    }),
  delete: (client: QualysConnectorClient) =>
    client.deleteSecondaryApplications([{ connectorId: C1, appIds: [A1] }]),
  list: (client: QualysConnectorClient) => client.listSecondaryApplications(),
  sync: (client: QualysConnectorClient) => client.syncSecondaryApplications(),
} as const;

const KNOWN_CODES: readonly string[] = Object.values(ErrorCodes);

describe('Qualys client, on any answer of the gateway', () => {
  it('returns a typed result or throws a RotatorError, and never logs or returns a secret', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...(Object.keys(calls) as (keyof typeof calls)[])),
        authAnswer,
        answer,
        async (operation, auth, api) => {
          const { client, lines, close } = clientAnswering(auth, api);
          const started = performance.now();
          let outcome: unknown;
          try {
            outcome = await calls[operation](client);
          } catch (error) {
            if (!(error instanceof RotatorError)) throw error;
            expect(KNOWN_CODES).toContain(error.code);
            expect(['transient', 'throttled', 'permanent']).toContain(error.kind);
            if (error.retryAfterMs !== undefined) expect(Number.isFinite(error.retryAfterMs)).toBe(true);
            outcome = error.message;
          } finally {
            await close();
          }
          expect(performance.now() - started).toBeLessThan(1_000);
          const sent =
            operation === 'update' ? [SENT_SECRETS[0]!] : operation === 'register' ? [SENT_SECRETS[1]!] : [];
          expectNoSecrets({ outcome: [JSON.stringify(outcome)], logs: lines }, [PASSWORD, ...sent]);
        },
      ),
      { ...params(150), plugins: [fc.interruptAfterTimeLimit(4_000), fc.timeout(2_000)] },
    );
  });

  it('regression: a token whose exp is past the year 275760 is used, not a RangeError', async () => {
    // Found by the client property: the sign-in logged new Date(exp * 1000).toISOString(), which throws.
    const payload = Buffer.from('{"exp":1e13}').toString('base64url');
    const { client, close } = clientAnswering(
      { status: 201, headers: {}, body: `eyJhbGciOiJub25lIn0.${payload}.sig` },
      { status: 200, headers: {}, body: '[]' },
    );
    try {
      await expect(client.listSecondaryApplications()).resolves.toEqual([]);
    } finally {
      await close();
    }
  });

  it('regression: a token that cannot travel in a header is a malformed answer, not a network error', async () => {
    const { client, close } = clientAnswering(
      { status: 201, headers: {}, body: 'tökén\u0001' },
      { status: 200, headers: {}, body: '[]' },
    );
    try {
      await expect(client.listSecondaryApplications()).rejects.toBeInstanceOf(QualysMalformedResponseError);
    } finally {
      await close();
    }
  });

  it('regression: an answer without Content-Length past 16 MiB is not buffered into a result', async () => {
    // Valid JSON, so before the bound it was read whole (any size) and returned.
    const huge = `[${'{"connectorUuid":"c","appIds":[]},'.repeat(520_000)}{"connectorUuid":"c"}]`;
    const { client, close } = clientAnswering(
      { status: 201, headers: {}, body: 'eyJhbGciOiJub25lIn0.e30.sig' },
      { status: 200, headers: {}, body: huge },
    );
    try {
      await expect(client.listSecondaryApplications()).rejects.toBeInstanceOf(QualysMalformedResponseError);
    } finally {
      await close();
    }
  });
});
