import { AuthenticationError, CredentialUnavailableError } from '@azure/identity';
import { describe, expect, it } from 'vitest';
import { classifyGraphFailure, type GraphFailure } from '../../../src/azure/classify-graph-failure.ts';
import { APP_SELECT, graphErrorDetail, parseApplication } from '../../../src/azure/graph-model.ts';
import { describeIdentityFailure, NOT_YET_PROPAGATED } from '../../../src/azure/identity-errors.ts';
import { GraphTransportError } from '../../../src/azure/errors/index.ts';

const subject = { tenantId: 't-1', appId: 'app-1', requestedLifetimeDays: 90 };
const failure = (status: number, graphCode?: string, retryAfterMs?: number): GraphFailure => ({
  status,
  graphCode,
  graphMessage: 'detail from graph',
  retryAfterMs,
  headers: {},
});

describe('classifyGraphFailure', () => {
  it.each([
    [
      failure(404, 'Request_ResourceNotFound'),
      'ROT_ERR_GRAPH_APP_NOT_FOUND',
      'permanent',
      /check targets\[\]\.appId/,
    ],
    [
      failure(403, 'Authorization_RequestDenied'),
      'ROT_ERR_GRAPH_PERMISSION',
      'permanent',
      /Application\.ReadWrite\.OwnedBy.*owner of the app/,
    ],
    [
      failure(400, 'CredentialInvalidLifetimeAsPerAppPolicy'),
      'ROT_ERR_GRAPH_LIFETIME_POLICY',
      'permanent',
      /secret of 90 days.*lower rotation\.secretLifetime/,
    ],
    [
      failure(400, 'TooManyAppPasswords'),
      'ROT_ERR_GRAPH_TOO_MANY_PASSWORDS',
      'permanent',
      /remove unused secrets/,
    ],
    [
      failure(400, 'Directory_ResourceSizeExceeded'),
      'ROT_ERR_GRAPH_TOO_MANY_PASSWORDS',
      'permanent',
      /Directory_ResourceSizeExceeded/,
    ],
    [failure(429, undefined, 120_000), 'ROT_ERR_GRAPH_THROTTLED', 'throttled', /retry in 120 s/],
    [failure(503), 'ROT_ERR_GRAPH_HTTP_STATUS', 'transient', /HTTP 503/],
    [
      failure(400, 'Request_BadRequest'),
      'ROT_ERR_GRAPH_HTTP_STATUS',
      'permanent',
      /Request_BadRequest: detail from graph/,
    ],
  ])('%#: classifies %o', (input, code, kind, message) => {
    const error = classifyGraphFailure('addPassword', input, subject);
    expect(error).toMatchObject({ code, kind });
    expect(error.message).toMatch(message);
  });

  it('carries the Retry-After of a throttle', () => {
    expect(classifyGraphFailure('readApp', failure(429, undefined, 7_000), subject).retryAfterMs).toBe(7_000);
  });
});

describe('describeIdentityFailure', () => {
  it('reads the AADSTS code and first sentence of an Entra answer', () => {
    const error = new AuthenticationError(401, {
      error: 'invalid_client',
      error_description:
        'AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value. Trace ID: 1\r\nCorrelation ID: 2',
      error_codes: [7000215],
    });
    expect(describeIdentityFailure(error)).toEqual({
      aadsts: 7000215,
      oauthError: 'invalid_client',
      summary: 'AADSTS7000215: Invalid client secret provided.',
      unreachable: false,
      unavailable: false,
    });
    expect(NOT_YET_PROPAGATED.has(7000215)).toBe(true);
  });

  it('tells a missing credential and an unreachable Entra apart', () => {
    expect(
      describeIdentityFailure(
        new CredentialUnavailableError('WorkloadIdentityCredential: no token file. More text.'),
      ),
    ).toMatchObject({
      unavailable: true,
      unreachable: false,
      summary: 'WorkloadIdentityCredential: no token file.',
    });
    expect(describeIdentityFailure(new Error('connect ECONNREFUSED 127.0.0.1:1'))).toMatchObject({
      unreachable: true,
      aadsts: undefined,
    });
    expect(describeIdentityFailure(new Error('AADSTS700016: Application not found'))).toMatchObject({
      aadsts: 700016,
      unreachable: false,
    });
  });
});

describe('parseApplication and graphErrorDetail', () => {
  it('maps Graph JSON, lower-casing ids and keeping only password metadata', () => {
    const app = parseApplication('t-1', {
      id: 'OBJ-1',
      appId: 'APP-1',
      displayName: 'scanner',
      passwordCredentials: [
        {
          keyId: 'KEY-1',
          displayName: 'rotator r-1',
          startDateTime: '2026-01-01T00:00:00Z',
          endDateTime: '2026-04-01T00:00:00Z',
          hint: 'abc',
          secretText: null,
          customKeyIdentifier: null,
        },
      ],
    });
    expect(app).toEqual({
      tenantId: 't-1',
      objectId: 'obj-1',
      appId: 'app-1',
      displayName: 'scanner',
      passwords: [
        {
          keyId: 'key-1',
          displayName: 'rotator r-1',
          startDateTime: '2026-01-01T00:00:00Z',
          endDateTime: '2026-04-01T00:00:00Z',
          hint: 'abc',
        },
      ],
    });
    expect(APP_SELECT).toContain('passwordCredentials');
  });

  it.each([
    [null],
    ['text'],
    [{ appId: 'a' }],
    [{ id: 'o', appId: 'a', passwordCredentials: 'x' }],
    [{ id: 'o', appId: 'a', passwordCredentials: [{}] }],
  ])('rejects %j with a typed error', (body) => {
    expect(() => parseApplication('t', body)).toThrow(GraphTransportError);
  });

  it('reads Graph error bodies given as objects or text', () => {
    expect(graphErrorDetail({ error: { code: 'X', message: 'y' } })).toEqual({ code: 'X', message: 'y' });
    expect(graphErrorDetail('{"error":{"code":"Z"}}')).toEqual({ code: 'Z', message: undefined });
    expect(graphErrorDetail('<html>')).toEqual({ code: undefined, message: undefined });
  });
});
