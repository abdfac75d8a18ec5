import { rm } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QualysSimulator, type QualysSimulatorOptions } from '../../src/sim/qualys/qualys-simulator.ts';
import { createSelfSignedCert, type SelfSignedCert } from '../../src/sim/shared/self-signed-cert.ts';

const API = '/connectors/v1.0/azure';
const PATHS = {
  register: `${API}/registerSecondaryApplication`,
  update: `${API}/updateSecondaryApplication`,
  list: `${API}/listSecondaryApplication`,
  delete: `${API}/deleteSecondaryApplication`,
  sync: `${API}/syncSecondaryApplicationInRedis`,
} as const;
const METHODS = { register: 'POST', update: 'PUT', list: 'GET', delete: 'DELETE', sync: 'POST' } as const;
type ApiName = keyof typeof PATHS;

const CONNECTOR_A = '5dab0fb0-1111-4111-8111-08927bc515ec';
const CONNECTOR_B = '8c2554c4-a852-4631-b5cf-acc93b927340';
const UNKNOWN_CONNECTOR = '00000000-0000-4000-8000-000000000000';
const APP_1 = 'a2f88fdf-2222-4222-8222-0f4a08195669';
const APP_2 = '896ead5f-3333-4333-8333-6eff92471959';

const started: QualysSimulator[] = [];
afterAll(async () => {
  await Promise.all(started.map((sim) => sim.close()));
});

async function startSim(options: QualysSimulatorOptions = {}): Promise<QualysSimulator> {
  const sim = await QualysSimulator.start({ connectors: [CONNECTOR_A, CONNECTOR_B], ...options });
  started.push(sim);
  return sim;
}

function authForm(username: string, password: string, token = 'true'): URLSearchParams {
  return new URLSearchParams({ username, password, token });
}

async function login(sim: QualysSimulator): Promise<string> {
  const response = await fetch(`${sim.url}/auth`, {
    method: 'POST',
    body: authForm(sim.username, sim.password),
  });
  expect(response.status).toBe(201);
  return response.text();
}

interface CallOptions {
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  readonly signal?: AbortSignal;
}

async function api(
  sim: QualysSimulator,
  token: string,
  name: ApiName,
  options: CallOptions = {},
): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, ...options.headers };
  if (options.body !== undefined) headers['content-type'] ??= 'application/json';
  return fetch(`${sim.url}${PATHS[name]}`, {
    method: METHODS[name],
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
}

function mappingBody(
  mappings: Record<string, string[]>,
  credentials: Record<string, string>,
): { connectorMappings: Record<string, string[]>; appCredentials: { appId: string; secretKey: string }[] } {
  return {
    connectorMappings: mappings,
    appCredentials: Object.entries(credentials).map(([appId, secretKey]) => ({ appId, secretKey })),
  };
}

interface OutcomeBody {
  message: string;
  successData: unknown;
  failures: { connectorUuid: string; appId: string; errorCode: string; errorMessage: string }[];
}

async function outcome(response: Response): Promise<OutcomeBody> {
  return (await response.json()) as OutcomeBody;
}

describe('POST /auth', () => {
  let sim: QualysSimulator;
  beforeAll(async () => {
    sim = await startSim();
  });

  it('answers 201 with a plain-text JWT carrying sub, iat and exp (4 h)', async () => {
    const response = await fetch(`${sim.url}/auth`, {
      method: 'POST',
      body: authForm(sim.username, sim.password),
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const token = await response.text();
    const parts = token.split('.');
    expect(parts).toHaveLength(3);
    const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    expect(payload['sub']).toBe('sim-user');
    expect(payload['exp']).toBe((payload['iat'] as number) + 4 * 3600);
    expect(sim.issuedTokens()).toContain(token);
  });

  it('generates a 24-character default password', () => {
    expect(sim.password).toHaveLength(24);
  });

  it('answers 401 in plain text to a wrong password or username', async () => {
    for (const form of [authForm(sim.username, 'wrong'), authForm('someone-else', sim.password)]) {
      const response = await fetch(`${sim.url}/auth`, { method: 'POST', body: form });
      expect(response.status).toBe(401);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await response.text()).not.toContain(sim.password);
    }
  });

  it('answers 400 without token=true and 405 to another method', async () => {
    const noToken = new URLSearchParams({ username: sim.username, password: sim.password });
    expect((await fetch(`${sim.url}/auth`, { method: 'POST', body: noToken })).status).toBe(400);
    expect(
      (
        await fetch(`${sim.url}/auth`, {
          method: 'POST',
          body: authForm(sim.username, sim.password, 'false'),
        })
      ).status,
    ).toBe(400);
    expect((await fetch(`${sim.url}/auth`)).status).toBe(405);
  });
});

describe('bearer tokens', () => {
  it('answers 401 with a JSON message without a token, with a foreign token, and after revocation', async () => {
    const sim = await startSim();
    const other = await startSim({ username: sim.username, password: sim.password });
    const foreign = await login(other);

    const noHeader = await fetch(`${sim.url}${PATHS.list}`);
    expect(noHeader.status).toBe(401);
    expect(((await noHeader.json()) as { message: string }).message).toMatch(/token/i);
    expect((await api(sim, foreign, 'list')).status).toBe(401);
    expect((await api(sim, 'not.a.jwt', 'list')).status).toBe(401);

    const token = await login(sim);
    expect((await api(sim, token, 'list')).status).toBe(200);
    sim.revokeTokens();
    const revoked = await api(sim, token, 'list');
    expect(revoked.status).toBe(401);
    expect(((await revoked.json()) as { message: string }).message).toMatch(/revoked/i);
    expect((await api(sim, await login(sim), 'list')).status).toBe(200);
  });

  it('answers 401 once the token has expired', async () => {
    const sim = await startSim({ tokenTtlMs: 60 });
    const token = await login(sim);
    expect((await api(sim, token, 'list')).status).toBe(200);
    await delay(80);
    const expired = await api(sim, token, 'list');
    expect(expired.status).toBe(401);
    expect(((await expired.json()) as { message: string }).message).toMatch(/expired/i);
  });
});

describe('the secondary-application lifecycle', () => {
  it('registers, updates, lists the cache (stale until sync), syncs and deletes', async () => {
    const validated: string[] = [];
    const sim = await startSim({
      validateCredential: (appId, secret) => {
        validated.push(`${appId}:${secret}`);
        return secret.startsWith('good-');
      },
    });
    const token = await login(sim);
    const bodies: string[] = [];
    const send = async (name: ApiName, body?: unknown): Promise<{ status: number; json: unknown }> => {
      const response = await api(sim, token, name, body === undefined ? {} : { body });
      const text = await response.text();
      bodies.push(text);
      return { status: response.status, json: JSON.parse(text) as unknown };
    };

    const registered = await send(
      'register',
      mappingBody(
        { [CONNECTOR_A]: [APP_1], [CONNECTOR_B]: [APP_1, APP_2] },
        { [APP_1]: 'good-1', [APP_2]: 'good-2' },
      ),
    );
    expect(registered).toEqual({
      status: 200,
      json: {
        message: 'All items processed successfully',
        successData: { [CONNECTOR_A]: [APP_1], [CONNECTOR_B]: [APP_1, APP_2] },
        failures: [],
      },
    });
    // APP_1 serves two connectors with one secret: validated once per request.
    expect(validated).toEqual([`${APP_1}:good-1`, `${APP_2}:good-2`]);
    expect(sim.storedSecret(CONNECTOR_B, APP_1)).toBe('good-1');

    const updated = await send(
      'update',
      mappingBody({ [CONNECTOR_A]: [APP_1], [CONNECTOR_B]: [APP_1] }, { [APP_1]: 'good-1b' }),
    );
    expect(updated.status).toBe(200);
    expect(sim.storedSecret(CONNECTOR_A, APP_1)).toBe('good-1b');
    expect(sim.storedSecret(CONNECTOR_B, APP_1)).toBe('good-1b');
    expect(sim.storedSecret(CONNECTOR_B, APP_2)).toBe('good-2');

    expect(await send('list')).toEqual({ status: 200, json: [] });
    expect(sim.cachedMappings().size).toBe(0);
    expect(await send('sync')).toEqual({
      status: 200,
      json: { message: 'Successfully synced the secondary application into redis' },
    });
    const expectedList = [
      { connectorUuid: CONNECTOR_A, appIds: [APP_1] },
      { connectorUuid: CONNECTOR_B, appIds: [APP_1, APP_2].sort() },
    ];
    expect(await send('list')).toEqual({ status: 200, json: expectedList });

    const deleted = await send('delete', { connectorMappings: { [CONNECTOR_B]: [APP_1, APP_2] } });
    expect(deleted).toEqual({
      status: 200,
      json: {
        message: 'All items deleted successfully',
        successData: [{ connectorUuid: CONNECTOR_B, appIds: [APP_1, APP_2] }],
        failures: [],
      },
    });
    expect(sim.liveMappings()).toEqual(new Map([[CONNECTOR_A, [APP_1]]]));
    expect(sim.storedSecret(CONNECTOR_B, APP_1)).toBeUndefined();
    expect((await send('list')).json).toEqual(expectedList);
    await send('sync');
    expect((await send('list')).json).toEqual([{ connectorUuid: CONNECTOR_A, appIds: [APP_1] }]);

    expect(sim.receivedSecrets()).toEqual(['good-1', 'good-2', 'good-1b']);
    for (const secret of sim.receivedSecrets()) for (const body of bodies) expect(body).not.toContain(secret);
    expect(sim.calls().map((call) => call.endpoint)).toEqual([
      'auth',
      'register',
      'update',
      'list',
      'sync',
      'list',
      'delete',
      'list',
      'sync',
      'list',
    ]);
  });

  it('lists the live state when listReadsCache is false, and seeded mappings in both', async () => {
    const sim = await startSim({ listReadsCache: false });
    sim.seedMapping(CONNECTOR_A, APP_2, 'seeded');
    const token = await login(sim);
    await api(sim, token, 'register', { body: mappingBody({ [CONNECTOR_A]: [APP_1] }, { [APP_1]: 's' }) });
    expect(await (await api(sim, token, 'list')).json()).toEqual([
      { connectorUuid: CONNECTOR_A, appIds: [APP_1, APP_2].sort() },
    ]);
    expect(sim.cachedMappings()).toEqual(new Map([[CONNECTOR_A, [APP_2]]]));
  });
});

describe('per-item failures', () => {
  let sim: QualysSimulator;
  let token: string;
  beforeAll(async () => {
    sim = await startSim({ validateCredential: (_appId, secret) => secret !== '' && secret !== 'rejected' });
    sim.seedMapping(CONNECTOR_A, APP_1, 'original');
    token = await login(sim);
  });

  const cases = [
    ['register', CONNECTOR_A, APP_1, { [APP_1]: 'new' }, 'ALREADY_REGISTERED'],
    ['register', UNKNOWN_CONNECTOR, APP_2, { [APP_2]: 'new' }, 'CONNECTOR_NOT_FOUND'],
    ['register', CONNECTOR_B, APP_2, {}, 'MISSING_CREDENTIAL'],
    ['register', CONNECTOR_B, APP_2, { [APP_2]: 'rejected' }, 'CREDENTIAL_VALIDATION_FAILED'],
    ['register', CONNECTOR_B, APP_2, { [APP_2]: '' }, 'CREDENTIAL_VALIDATION_FAILED'],
    ['update', CONNECTOR_B, APP_2, { [APP_2]: 'new' }, 'MAPPING_NOT_FOUND'],
    ['update', CONNECTOR_A, APP_1, { [APP_1]: 'rejected' }, 'CREDENTIAL_VALIDATION_FAILED'],
    ['update', UNKNOWN_CONNECTOR, APP_1, { [APP_1]: 'new' }, 'CONNECTOR_NOT_FOUND'],
  ] as const;

  it.each(cases)(
    '%s %s/%s answers 400 with %s when every item fails',
    async (name, connector, app, creds, code) => {
      const response = await api(sim, token, name, { body: mappingBody({ [connector]: [app] }, creds) });
      expect(response.status).toBe(400);
      const body = await outcome(response);
      expect(body.message).toBe('All items failed to process');
      expect(body.successData).toEqual({});
      expect(body.failures).toEqual([
        { connectorUuid: connector, appId: app, errorCode: code, errorMessage: expect.any(String) as string },
      ]);
      expect(sim.liveMappings()).toEqual(new Map([[CONNECTOR_A, [APP_1]]]));
      expect(sim.storedSecret(CONNECTOR_A, APP_1)).toBe('original');
    },
  );

  it('answers 200 "Some items failed" when part of a request succeeds', async () => {
    const response = await api(sim, token, 'update', {
      body: mappingBody({ [CONNECTOR_A]: [APP_1], [CONNECTOR_B]: [APP_1] }, { [APP_1]: 'rotated' }),
    });
    expect(response.status).toBe(200);
    const body = await outcome(response);
    expect(body.message).toBe('Some items failed to process');
    expect(body.successData).toEqual({ [CONNECTOR_A]: [APP_1] });
    expect(body.failures.map((failure) => failure.errorCode)).toEqual(['MAPPING_NOT_FOUND']);
    expect(sim.storedSecret(CONNECTOR_A, APP_1)).toBe('rotated');
  });

  it('reports MAPPING_NOT_FOUND for deleting what is not registered', async () => {
    const response = await api(sim, token, 'delete', {
      body: { connectorMappings: { [CONNECTOR_B]: [APP_2] } },
    });
    expect(response.status).toBe(400);
    const body = await outcome(response);
    expect(body.message).toBe('All items failed to delete');
    expect(body.successData).toEqual([]);
    expect(body.failures.map((failure) => failure.errorCode)).toEqual(['MAPPING_NOT_FOUND']);
  });

  it('answers 200 to a request with no items', async () => {
    const response = await api(sim, token, 'register', {
      body: { connectorMappings: {}, appCredentials: [] },
    });
    expect(response.status).toBe(200);
    expect((await outcome(response)).message).toBe('All items processed successfully');
  });
});

describe('malformed requests', () => {
  let sim: QualysSimulator;
  let token: string;
  beforeAll(async () => {
    sim = await startSim({ maxBodyBytes: 2048 });
    token = await login(sim);
  });

  const badBodies: [string, unknown, string][] = [
    ['no connectorMappings', { appCredentials: [] }, 'connectorMappings'],
    ['connectorMappings as an array', { connectorMappings: [], appCredentials: [] }, 'connectorMappings'],
    [
      'a non-array app list',
      { connectorMappings: { [CONNECTOR_A]: APP_1 }, appCredentials: [] },
      CONNECTOR_A,
    ],
    ['no appCredentials', { connectorMappings: { [CONNECTOR_A]: [APP_1] } }, 'appCredentials'],
    [
      'a numeric secretKey',
      { connectorMappings: {}, appCredentials: [{ appId: APP_1, secretKey: 7 }] },
      'appCredentials[0].secretKey',
    ],
    [
      'a missing appId',
      { connectorMappings: {}, appCredentials: [{ secretKey: 'x' }] },
      'appCredentials[0].appId',
    ],
    ['a JSON array', [], 'body'],
  ];

  it.each(badBodies)('answers 400 naming the field for %s', async (_label, body, field) => {
    const response = await api(sim, token, 'register', { body });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toContain(field);
  });

  it('answers 400 to invalid JSON, 415 without a JSON content type, 413 above maxBodyBytes', async () => {
    const url = `${sim.url}${PATHS.update}`;
    const authorization = `Bearer ${token}`;
    const invalid = await fetch(url, {
      method: 'PUT',
      headers: { authorization, 'content-type': 'application/json' },
      body: '{"connectorMappings":',
    });
    expect(invalid.status).toBe(400);
    const noType = await fetch(url, { method: 'PUT', headers: { authorization }, body: '{}' });
    expect(noType.status).toBe(415);
    const huge = mappingBody({ [CONNECTOR_A]: [APP_1] }, { [APP_1]: 'x'.repeat(4096) });
    expect((await api(sim, token, 'update', { body: huge })).status).toBe(413);
    expect(sim.receivedSecrets()).not.toContain('x'.repeat(4096));
  });

  it('answers 405 to a wrong method and 404 to an unknown path', async () => {
    const authorization = `Bearer ${token}`;
    const wrongMethod = await fetch(`${sim.url}${PATHS.list}`, {
      method: 'POST',
      headers: { authorization },
    });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET');
    expect((await fetch(`${sim.url}${API}/nothingHere`, { headers: { authorization } })).status).toBe(404);
    expect(sim.callCount('other')).toBe(1);
  });
});

describe('rate limits', () => {
  it('counts /auth and API calls, then answers 429 with Retry-After and X-RateLimit-ToWait-Sec', async () => {
    const sim = await startSim({ rateLimit: { limit: 3, windowMs: 60_000 } });
    const token = await login(sim);
    const first = await api(sim, token, 'list');
    expect(first.headers.get('x-ratelimit-limit')).toBe('3');
    expect(first.headers.get('x-ratelimit-window-sec')).toBe('60');
    expect(first.headers.get('x-ratelimit-remaining')).toBe('1');
    expect(first.headers.get('x-concurrency-limit-limit')).toBe('2');
    expect(first.headers.get('x-concurrency-limit-running')).toBe('1');
    expect((await api(sim, token, 'sync')).headers.get('x-ratelimit-remaining')).toBe('0');

    const blocked = await api(sim, token, 'register', {
      body: mappingBody({ [CONNECTOR_A]: [APP_1] }, { [APP_1]: 's' }),
    });
    expect(blocked.status).toBe(429);
    const toWait = Number(blocked.headers.get('x-ratelimit-towait-sec'));
    expect(toWait).toBeGreaterThanOrEqual(1);
    expect(toWait).toBeLessThanOrEqual(60);
    expect(blocked.headers.get('retry-after')).toBe(String(toWait));
    expect(blocked.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(((await blocked.json()) as { message: string }).message).toMatch(/rate limit/i);
    expect(sim.liveMappings().size).toBe(0);
    expect(
      (await fetch(`${sim.url}/auth`, { method: 'POST', body: authForm(sim.username, sim.password) })).status,
    ).toBe(429);
    expect(sim.maxObservedRate(60_000)).toBe(5);
  });

  it('blocks with 409 when configured so, and opens again in the next window', async () => {
    const sim = await startSim({ rateLimit: { limit: 2, windowMs: 250, blockStatus: 409 } });
    const token = await login(sim);
    expect((await api(sim, token, 'list')).status).toBe(200);
    const blocked = await api(sim, token, 'list');
    expect(blocked.status).toBe(409);
    expect(blocked.headers.get('x-ratelimit-towait-sec')).toBe('1');
    await delay(300);
    const reopened = await api(sim, token, 'list');
    expect(reopened.status).toBe(200);
    expect(reopened.headers.get('x-ratelimit-remaining')).toBe('1');
    expect(sim.maxObservedRate(250)).toBe(3);
    expect(sim.maxObservedRate(10_000)).toBe(4);
  });

  it('refuses requests beyond the concurrency limit with Retry-After: 1', async () => {
    const sim = await startSim({ concurrencyLimit: 1 });
    const token = await login(sim);
    sim.setFaults({ latencyMs: 250 });
    const [slow, refused] = await Promise.all([
      api(sim, token, 'list'),
      delay(30).then(() => api(sim, token, 'list')),
    ]);
    expect(slow.status).toBe(200);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.headers.get('x-concurrency-limit-limit')).toBe('1');
    expect(refused.headers.get('x-concurrency-limit-running')).toBe('1');
  });
});

describe('faults', () => {
  let sim: QualysSimulator;
  let token: string;
  beforeAll(async () => {
    sim = await startSim({ concurrencyLimit: 1 });
    token = await login(sim);
  });
  const registerApp1 = (): Promise<Response> =>
    api(sim, token, 'register', {
      body: mappingBody({ [CONNECTOR_A]: [APP_1] }, { [APP_1]: 'fault-secret' }),
    });

  it('failNext answers the chosen status on matching endpoints only, without changing state', async () => {
    sim.setFaults({ failNext: { count: 1, status: 503, endpoints: ['register'] } });
    expect((await api(sim, token, 'list')).status).toBe(200);
    const failed = await registerApp1();
    expect(failed.status).toBe(503);
    expect(await failed.json()).toEqual({ message: expect.stringMatching(/503/) as string });
    expect(sim.liveMappings().size).toBe(0);
    expect(sim.receivedSecrets()).toContain('fault-secret');
    expect((await registerApp1()).status).toBe(200);
    expect(sim.faults().failNext.count).toBe(0);
  });

  it('hangNext never answers until the client gives up, then frees the slot', async () => {
    sim.setFaults({ hangNext: { count: 1, endpoints: ['sync'] } });
    await expect(api(sim, token, 'sync', { signal: AbortSignal.timeout(300) })).rejects.toThrow();
    expect(sim.calls().at(-1)).toMatchObject({ endpoint: 'sync', status: 0 });
    expect(sim.cachedMappings().size).toBe(0);
    // The server learns of the abort when the socket closes; give it a moment under load.
    let status = 0;
    for (let attempt = 0; attempt < 20 && status !== 200; attempt++) {
      if (attempt > 0) await delay(25);
      status = (await api(sim, token, 'sync')).status;
    }
    expect(status).toBe(200);
  });

  it('malformedNext answers 200 with a body that is not JSON', async () => {
    sim.setFaults({ malformedNext: { count: 2 } });
    const list = await api(sim, token, 'list');
    expect(list.status).toBe(200);
    await expect(list.json()).rejects.toThrow(SyntaxError);
    const update = await api(sim, token, 'update', {
      body: mappingBody({ [CONNECTOR_A]: [APP_1] }, { [APP_1]: 'x' }),
    });
    expect(update.status).toBe(200);
    await expect(update.json()).rejects.toThrow(SyntaxError);
    expect(sim.storedSecret(CONNECTOR_A, APP_1)).toBe('fault-secret');
  });

  it('throttleNext answers 429 or 409 with Retry-After and X-RateLimit-ToWait-Sec', async () => {
    sim.setFaults({ throttleNext: { count: 1, retryAfterSec: 7 } });
    const throttled = await api(sim, token, 'list');
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('7');
    expect(throttled.headers.get('x-ratelimit-towait-sec')).toBe('7');
    sim.setFaults({ throttleNext: { count: 1, retryAfterSec: 2, status: 409 } });
    expect((await api(sim, token, 'list')).status).toBe(409);
    expect((await api(sim, token, 'list')).status).toBe(200);
  });

  it('staleListNext serves the cache from before the last sync', async () => {
    await api(sim, token, 'sync');
    await api(sim, token, 'register', { body: mappingBody({ [CONNECTOR_B]: [APP_2] }, { [APP_2]: 'b' }) });
    await api(sim, token, 'sync');
    sim.setFaults({ staleListNext: 1 });
    const before = [{ connectorUuid: CONNECTOR_A, appIds: [APP_1] }];
    expect(await (await api(sim, token, 'list')).json()).toEqual(before);
    expect(await (await api(sim, token, 'list')).json()).toEqual([
      ...before,
      { connectorUuid: CONNECTOR_B, appIds: [APP_2] },
    ]);
  });

  it('latencyMs delays every response', async () => {
    sim.setFaults({ latencyMs: 120 });
    const startedAt = performance.now();
    expect((await api(sim, token, 'list')).status).toBe(200);
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(110);
    sim.resetFaults();
  });

  it('leaves /auth alone unless a fault names it', async () => {
    sim.setFaults({ failNext: { count: 1, status: 500 } });
    await login(sim);
    expect((await api(sim, token, 'list')).status).toBe(500);
    sim.setFaults({ failNext: { count: 1, status: 502, endpoints: ['auth'] } });
    const failed = await fetch(`${sim.url}/auth`, {
      method: 'POST',
      body: authForm(sim.username, sim.password),
    });
    expect(failed.status).toBe(502);
    expect((await api(sim, token, 'list')).status).toBe(200);
  });

  it('errorRate draws from the seeded PRNG, so a seed repeats its outcomes', async () => {
    const run = async (seed: number): Promise<number[]> => {
      const seeded = await startSim({ seed });
      const seededToken = await login(seeded);
      seeded.setFaults({ errorRate: 0.5 });
      const statuses: number[] = [];
      for (let i = 0; i < 24; i++) statuses.push((await api(seeded, seededToken, 'list')).status);
      return statuses;
    };
    const first = await run(42);
    expect(await run(42)).toEqual(first);
    expect(first).toContain(200);
    expect(first.some((status) => [500, 502, 503].includes(status))).toBe(true);
    expect(first.every((status) => [200, 500, 502, 503].includes(status))).toBe(true);
  });

  it('rejects an invalid fault with a TypeError', () => {
    expect(() => {
      sim.setFaults({ errorRate: 2 });
    }).toThrow(TypeError);
  });

  it('close() ends hung requests', async () => {
    const closing = await startSim();
    const closingToken = await login(closing);
    closing.setFaults({ hangNext: { count: 1 } });
    const hung = api(closing, closingToken, 'list');
    await delay(50);
    await closing.close();
    await expect(hung).rejects.toThrow();
  });
});

describe('the control plane', () => {
  it('shows state without secrets, sets and resets faults, adds connectors, and is not counted', async () => {
    const sim = await startSim({ connectors: [] });
    const token = await login(sim);
    const control = (path: string, body?: unknown): Promise<Response> =>
      fetch(`${sim.url}/__sim/${path}`, {
        method: body === undefined && path === 'state' ? 'GET' : 'POST',
        headers: { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });

    expect((await control('connectors', { connectorId: CONNECTOR_A })).status).toBe(200);
    await api(sim, token, 'register', {
      body: mappingBody({ [CONNECTOR_A]: [APP_1] }, { [APP_1]: 'control-secret' }),
    });

    const faults = await control('faults', { failNext: { count: 1, status: 500, endpoints: ['list'] } });
    expect(faults.status).toBe(200);
    expect((await api(sim, token, 'list')).status).toBe(500);
    expect((await control('faults', { nonsense: true, errorRate: 'high' })).status).toBe(400);
    await control('faults', { throttleNext: { count: 5, retryAfterSec: 1 } });
    await control('reset-faults', {});
    expect((await api(sim, token, 'list')).status).toBe(200);

    const stateResponse = await control('state');
    const text = await stateResponse.text();
    expect(text).not.toContain('control-secret');
    expect(text).not.toContain(token);
    expect(JSON.parse(text)).toMatchObject({
      live: { [CONNECTOR_A]: [APP_1] },
      cache: {},
      connectors: [CONNECTOR_A],
      callCounts: { auth: 1, register: 1, list: 2, total: 4 },
    });

    await control('revoke-tokens', {});
    expect((await api(sim, token, 'list')).status).toBe(401);
    expect((await fetch(`${sim.url}/__sim/faults`)).status).toBe(405);
    expect(sim.callCount()).toBe(5);
  });
});

describe('HTTPS mode', () => {
  let cert: SelfSignedCert;
  let sim: QualysSimulator;
  beforeAll(async () => {
    cert = await createSelfSignedCert();
    sim = await startSim({ tls: { cert: cert.cert, key: cert.key } });
  });
  afterAll(async () => {
    await rm(cert.dir, { recursive: true, force: true });
  });

  it('serves the API over TLS to a client that trusts the self-signed certificate', async () => {
    expect(sim.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const dispatcher = new Agent({ connect: { ca: cert.cert } });
    try {
      const auth = await undiciFetch(`${sim.url}/auth`, {
        method: 'POST',
        body: authForm(sim.username, sim.password),
        dispatcher,
      });
      expect(auth.status).toBe(201);
      const token = await auth.text();
      const list = await undiciFetch(`${sim.url}${PATHS.list}`, {
        headers: { authorization: `Bearer ${token}` },
        dispatcher,
      });
      expect(list.status).toBe(200);
      expect(await list.json()).toEqual([]);
    } finally {
      await dispatcher.close();
    }
  });

  it('is refused by a client that does not trust the certificate', async () => {
    await expect(
      fetch(`${sim.url}/auth`, { method: 'POST', body: authForm(sim.username, sim.password) }),
    ).rejects.toThrow();
  });
});
