import { describe, expect, it } from 'vitest';
import { QualysMalformedResponseError } from '../../../src/qualys/errors/index.ts';
import {
  describeFailure,
  parseBatchResponse,
  parseJson,
  parseListResponse,
  parseSuccessData,
  parseSyncResponse,
  scrubFailure,
} from '../../../src/qualys/response-parsers.ts';

const C1 = '5dab0fb0-1111-4111-8111-08927bc515ec';
const C2 = '8c2554c4-a852-4631-b5cf-acc93b927340';
const A1 = 'a2f88fdf-2222-4222-8222-0f4a08195669';
const A2 = '896ead5f-3333-4333-8333-6eff92471959';

describe('parseBatchResponse', () => {
  it('reads the register/update sample of the spec, where successData lists only one of two pairs', () => {
    // Verbatim shape of the spec's sample: two connectors requested, one listed, "all" succeeded.
    const body = { message: 'All items processed successfully', successData: { [C1]: [A1] }, failures: [] };
    const result = parseBatchResponse(
      'update',
      200,
      body,
      [
        { connectorId: C1, appId: A1 },
        { connectorId: C2, appId: A2 },
      ],
      [],
    );
    expect(result.outcomes).toEqual([
      { connectorId: C1, appId: A1, status: 'succeeded' },
      { connectorId: C2, appId: A2, status: 'unconfirmed' },
    ]);
    expect(result.message).toBe('All items processed successfully');
    expect(result.unmatchedFailures).toEqual([]);
  });

  it('reads the delete sample, whose successData is an array', () => {
    const body = {
      message: 'All items deleted successfully',
      successData: [{ connectorUuid: C1.toUpperCase(), appIds: [A1, A2] }],
      failures: [],
    };
    const result = parseBatchResponse(
      'delete',
      200,
      body,
      [
        { connectorId: C1, appId: A1 },
        { connectorId: C1, appId: A2 },
      ],
      [],
    );
    expect(result.outcomes.map((outcome) => outcome.status)).toEqual(['succeeded', 'succeeded']);
  });

  it('matches failures of several shapes to the pairs they name', () => {
    const body = {
      successData: { [C1]: [A1] },
      failures: [
        {
          connectorUuid: C2,
          appId: A2,
          errorCode: 'CREDENTIAL_VALIDATION_FAILED',
          errorMessage: 'bad secret',
        },
        { connectorId: C1, appIds: [A2], code: 'MAPPING_NOT_FOUND' },
        `connector ${C2} app ${A1}: not registered`,
        { something: 'else entirely', secretKey: 'hunter2-leaked' },
      ],
    };
    const result = parseBatchResponse(
      'update',
      200,
      body,
      [
        { connectorId: C1, appId: A1 },
        { connectorId: C1, appId: A2 },
        { connectorId: C2, appId: A1 },
        { connectorId: C2, appId: A2 },
      ],
      ['hunter2-leaked'],
    );
    expect(result.outcomes).toEqual([
      { connectorId: C1, appId: A1, status: 'succeeded' },
      { connectorId: C1, appId: A2, status: 'failed', errorCode: 'MAPPING_NOT_FOUND', message: undefined },
      {
        connectorId: C2,
        appId: A1,
        status: 'failed',
        errorCode: undefined,
        message: `connector ${C2} app ${A1}: not registered`,
      },
      {
        connectorId: C2,
        appId: A2,
        status: 'failed',
        errorCode: 'CREDENTIAL_VALIDATION_FAILED',
        message: 'bad secret',
      },
    ]);
    expect(result.unmatchedFailures).toEqual([{ something: 'else entirely', secretKey: '[REDACTED]' }]);
    expect(JSON.stringify(result)).not.toContain('hunter2-leaked');
  });

  it('fails every app of a connector when the failure names only the connector', () => {
    const body = { successData: {}, failures: [{ connectorUuid: C2, errorMessage: 'connector not found' }] };
    const result = parseBatchResponse(
      'register',
      400,
      body,
      [
        { connectorId: C2, appId: A1 },
        { connectorId: C2, appId: A2 },
        { connectorId: C1, appId: A1 },
      ],
      [],
    );
    expect(result.outcomes.map((outcome) => outcome.status)).toEqual(['failed', 'failed', 'unconfirmed']);
    expect(result.httpStatus).toBe(400);
  });

  it('accepts missing or null successData and failures', () => {
    const result = parseBatchResponse(
      'update',
      200,
      { message: 'ok', successData: null },
      [{ connectorId: C1, appId: A1 }],
      [],
    );
    expect(result.outcomes[0]?.status).toBe('unconfirmed');
  });

  it('scrubs a secret echoed in a failure message or in the top-level message', () => {
    const body = {
      message: 'bad key s3cr3t-value',
      failures: [{ connectorUuid: C1, appId: A1, errorMessage: 'key s3cr3t-value rejected' }],
    };
    const result = parseBatchResponse(
      'update',
      200,
      body,
      [{ connectorId: C1, appId: A1 }],
      ['s3cr3t-value'],
    );
    expect(JSON.stringify(result)).not.toContain('s3cr3t-value');
    expect(result.outcomes[0]).toMatchObject({ status: 'failed', message: '[REDACTED]' });
  });

  it.each([
    ['a list instead of an object', []],
    ['a string', 'ok'],
    ['failures that is not a list', { failures: { a: 1 } }],
    ['successData of the wrong type', { successData: 42 }],
    ['successData array entries without a connector', { successData: [{ appIds: [A1] }] }],
    ['successData map with a non-string app', { successData: { [C1]: [7] } }],
  ])('rejects %s with a typed error', (_label, body) => {
    expect(() => parseBatchResponse('update', 200, body, [{ connectorId: C1, appId: A1 }], [])).toThrow(
      QualysMalformedResponseError,
    );
  });
});

describe('parseSuccessData', () => {
  it('accepts a single app id instead of a list in the map form', () => {
    expect([...parseSuccessData('update', { [C1]: A1 })]).toEqual([`${C1}|${A1}`]);
  });
});

describe('describeFailure and scrubFailure', () => {
  it('reads connector and app ids under their usual names', () => {
    expect(describeFailure({ connector_id: C1, applicationId: A1, reason: 'nope' })).toEqual({
      connectorIds: [C1],
      appIds: [A1],
      errorCode: undefined,
      message: 'nope',
    });
  });
  it('keeps id fields whose names look secret-ish (clientId) but drops secret values', () => {
    expect(scrubFailure({ clientId: A1, clientSecret: 'x', nested: [{ password: 'y' }] }, [])).toEqual({
      clientId: A1,
      clientSecret: '[REDACTED]',
      nested: [{ password: '[REDACTED]' }],
    });
  });
});

describe('parseListResponse', () => {
  it('reads the spec sample and lower-cases ids', () => {
    expect(parseListResponse([{ connectorUuid: C1.toUpperCase(), appIds: [A1.toUpperCase()] }])).toEqual([
      { connectorId: C1, appIds: [A1] },
    ]);
  });
  it('accepts a data wrapper and a connector without apps', () => {
    expect(parseListResponse({ data: [{ connectorId: C1, appIds: null }] })).toEqual([
      { connectorId: C1, appIds: [] },
    ]);
  });
  it.each([
    ['an object', { connectors: 1 }],
    ['an entry without connector', [{ appIds: [A1] }]],
    ['appIds that is a string', [{ connectorUuid: C1, appIds: A1 }]],
    ['an app id that is a number', [{ connectorUuid: C1, appIds: [1] }]],
    ['an entry that is null', [null]],
  ])('rejects %s', (_label, body) => {
    expect(() => parseListResponse(body)).toThrow(QualysMalformedResponseError);
  });
});

describe('parseJson and parseSyncResponse', () => {
  it('types syntax errors and empty bodies', () => {
    expect(() => parseJson('list', '{"successData": [')).toThrow(QualysMalformedResponseError);
    expect(() => parseJson('list', '  ')).toThrow(/empty body/);
  });
  it('reads the sync message, and tolerates an empty body', () => {
    expect(
      parseSyncResponse('{"message":"Successfully synced the secondary application into redis"}'),
    ).toEqual({
      message: 'Successfully synced the secondary application into redis',
    });
    expect(parseSyncResponse('')).toEqual({ message: undefined });
    expect(() => parseSyncResponse('[1]')).toThrow(QualysMalformedResponseError);
  });
});
