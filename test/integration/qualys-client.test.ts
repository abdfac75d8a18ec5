import { randomBytes } from 'node:crypto';
import { Agent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { QualysHttpOptions } from '../../src/config/types.ts';
import { QualysConnectorClient } from '../../src/qualys/connector-api-client.ts';
import {
  QualysAuthError,
  QualysHttpStatusError,
  QualysMalformedResponseError,
  QualysNetworkError,
  QualysRateLimitedError,
  QualysTimeoutError,
} from '../../src/qualys/errors/index.ts';
import type { BatchResult, RateLimitInfo } from '../../src/qualys/types.ts';
import { QualysSimulator, type QualysSimulatorOptions } from '../../src/sim/qualys/qualys-simulator.ts';
import { createSelfSignedCert } from '../../src/sim/shared/self-signed-cert.ts';
import { Secret } from '../../src/util/secret.ts';
import { captureLogger } from '../support/log-capture.ts';
import { expectNoSecrets } from '../support/leak-scan.ts';
import { freePort } from '../support/redis-server.ts';

const C1 = '5dab0fb0-1111-4111-8111-08927bc515ec';
const C2 = '8c2554c4-a852-4631-b5cf-acc93b927340';
const UNKNOWN_CONNECTOR = '00000000-dead-4bad-8bad-000000000000';
const A1 = 'a2f88fdf-2222-4222-8222-0f4a08195669';
const A2 = '896ead5f-3333-4333-8333-6eff92471959';

const FAST_HTTP: QualysHttpOptions = {
  connectTimeoutMs: 1_000,
  headersTimeoutMs: 400,
  bodyTimeoutMs: 400,
  maxAttempts: 4,
  retryBaseDelayMs: 5,
  retryMaxDelayMs: 20,
  maxThrottleWaitMs: 1_500,
  tokenRefreshBeforeExpiryMs: 300_000,
};

const newSecret = () => `sim-secret-${randomBytes(12).toString('base64url')}`;

/** Everything the suite's simulators issued or received, and everything our loggers wrote. */
const simulators: QualysSimulator[] = [];
const logLines: string[] = [];
const extraSecrets: string[] = [];

async function setup(
  simOptions: QualysSimulatorOptions = {},
  http: Partial<QualysHttpOptions> = {},
  clientExtras: {
    now?: () => number;
    onRateLimit?: (info: RateLimitInfo) => void;
    password?: string;
    dispatcher?: Agent;
  } = {},
) {
  const sim = await QualysSimulator.start({ connectors: [C1, C2], ...simOptions });
  simulators.push(sim);
  const captured = captureLogger('trace');
  const client = new QualysConnectorClient({
    gatewayUrl: sim.url,
    username: sim.username,
    password: new Secret(clientExtras.password ?? sim.password),
    http: { ...FAST_HTTP, ...http },
    logger: captured.logger,
    random: () => 1,
    ...(clientExtras.now ? { now: clientExtras.now } : {}),
    ...(clientExtras.onRateLimit ? { onRateLimit: clientExtras.onRateLimit } : {}),
    ...(clientExtras.dispatcher ? { dispatcher: clientExtras.dispatcher } : {}),
  });
  return { sim, client, lines: captured.lines };
}

const statuses = (result: BatchResult) =>
  result.outcomes.map((outcome) => `${outcome.connectorId}/${outcome.appId}:${outcome.status}`);

describe('QualysConnectorClient against the Qualys simulator', () => {
  let context: Awaited<ReturnType<typeof setup>> | undefined;
  afterEach(async () => {
    if (context) {
      logLines.push(...context.lines);
      await context.client.close();
      await context.sim.close();
      context = undefined;
    }
  });

  it('registers, updates, lists (stale until sync), syncs and deletes', async () => {
    context = await setup();
    const { sim, client } = context;
    const first = newSecret();
    const registered = await client.registerSecondaryApplications({
      mappings: [
        { connectorId: C1, appIds: [A1] },
        { connectorId: C2, appIds: [A1] },
      ],
      credentials: [{ appId: A1, secret: new Secret(first) }],
    });
    expect(statuses(registered)).toEqual([`${C1}/${A1}:succeeded`, `${C2}/${A1}:succeeded`]);
    expect(sim.storedSecret(C1, A1)).toBe(first);

    const second = newSecret();
    const updated = await client.updateSecondaryApplications({
      mappings: [
        { connectorId: C1, appIds: [A1] },
        { connectorId: C2, appIds: [A1] },
      ],
      credentials: [{ appId: A1, secret: new Secret(second) }],
    });
    expect(updated.outcomes.every((outcome) => outcome.status === 'succeeded')).toBe(true);
    expect(sim.storedSecret(C2, A1)).toBe(second);

    expect(await client.listSecondaryApplications()).toEqual([]);
    expect(await client.syncSecondaryApplications()).toEqual({
      message: 'Successfully synced the secondary application into redis',
    });
    const listed = await client.listSecondaryApplications();
    expect(listed.sort((a, b) => a.connectorId.localeCompare(b.connectorId))).toEqual([
      { connectorId: C1, appIds: [A1] },
      { connectorId: C2, appIds: [A1] },
    ]);

    const deleted = await client.deleteSecondaryApplications([{ connectorId: C2, appIds: [A1] }]);
    expect(statuses(deleted)).toEqual([`${C2}/${A1}:succeeded`]);
    expect(sim.liveMappings().get(C2) ?? []).toEqual([]);
    expect(client.signIns).toBe(1);
    extraSecrets.push(first, second);
  });

  it('reports the outcome of every pair of a partially failed update', async () => {
    const rejected = newSecret();
    context = await setup({ validateCredential: (_appId, secret) => secret !== rejected });
    const { sim, client } = context;
    sim.seedMapping(C1, A1, newSecret());
    sim.seedMapping(C2, A2, newSecret());
    const result = await client.updateSecondaryApplications({
      mappings: [
        { connectorId: C1, appIds: [A1, A2] },
        { connectorId: C2, appIds: [A2] },
        { connectorId: UNKNOWN_CONNECTOR, appIds: [A1] },
      ],
      credentials: [
        { appId: A1, secret: new Secret(newSecret()) },
        { appId: A2, secret: new Secret(rejected) },
      ],
    });
    expect(result.outcomes).toEqual([
      { connectorId: C1, appId: A1, status: 'succeeded' },
      expect.objectContaining({ connectorId: C1, appId: A2, status: 'failed' }),
      expect.objectContaining({
        connectorId: C2,
        appId: A2,
        status: 'failed',
        errorCode: 'CREDENTIAL_VALIDATION_FAILED',
      }),
      expect.objectContaining({
        connectorId: UNKNOWN_CONNECTOR,
        appId: A1,
        status: 'failed',
        errorCode: 'CONNECTOR_NOT_FOUND',
      }),
    ]);
    expect(result.outcomes[1]?.errorCode).toMatch(/MAPPING_NOT_FOUND|CREDENTIAL_VALIDATION_FAILED/);
    expect(JSON.stringify(result)).not.toContain(rejected);
    extraSecrets.push(rejected);
  });

  it('reads a 4xx whose body has the batch shape as per-pair failures', async () => {
    context = await setup();
    const result = await context.client.registerSecondaryApplications({
      mappings: [{ connectorId: UNKNOWN_CONNECTOR, appIds: [A1] }],
      credentials: [{ appId: A1, secret: new Secret(newSecret()) }],
    });
    expect(result.httpStatus).toBe(400);
    expect(result.outcomes).toEqual([
      expect.objectContaining({ status: 'failed', errorCode: 'CONNECTOR_NOT_FOUND' }),
    ]);
  });

  it('signs in once for concurrent callers, and again only when the token nears its exp', async () => {
    let clock = Date.now();
    context = await setup({}, {}, { now: () => clock });
    const { sim, client } = context;
    await Promise.all(Array.from({ length: 8 }, () => client.listSecondaryApplications()));
    expect(sim.callCount('auth')).toBe(1);
    clock += 3 * 3_600_000; // three hours later the 4-hour token is still good
    await client.listSecondaryApplications();
    expect(client.signIns).toBe(1);
    clock += 56 * 60_000; // 3 h 56 min: within tokenRefreshBeforeExpiry (5 min) of exp
    await Promise.all([client.listSecondaryApplications(), client.listSecondaryApplications()]);
    expect(client.signIns).toBe(2);
    expect(sim.callCount('auth')).toBe(2);
  });

  it('signs in again once after a 401, and fails with an auth error after a second one', async () => {
    context = await setup();
    const { sim, client } = context;
    await client.listSecondaryApplications();
    sim.revokeTokens();
    await client.listSecondaryApplications();
    expect(client.signIns).toBe(2);

    sim.setFaults({ failNext: { count: 2, status: 401, endpoints: ['list'] } });
    const error = await client.listSecondaryApplications().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(QualysAuthError);
    expect(error).toMatchObject({ code: 'ROT_ERR_QUALYS_AUTH', kind: 'permanent', status: 401 });
    expect(client.signIns).toBe(3);
  });

  it('fails a wrong password with a permanent auth error that does not repeat the password', async () => {
    const wrong = `wrong-${newSecret()}`;
    context = await setup({}, {}, { password: wrong });
    const error = await context.client.listSecondaryApplications().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(QualysAuthError);
    expect((error as Error).message).toMatch(/qualys\.username and the password secret/);
    expect((error as Error).message).not.toContain(wrong);
    expect(context.sim.callCount('auth')).toBe(1);
    extraSecrets.push(wrong);
  });

  it('retries a sign-in that failed with a 5xx or was throttled', async () => {
    context = await setup();
    const { sim, client } = context;
    sim.setFaults({ failNext: { count: 1, status: 503, endpoints: ['auth'] } });
    await client.listSecondaryApplications();
    expect(sim.callCount('auth')).toBe(2);
    expect(client.signIns).toBe(1);
    sim.revokeTokens();
    sim.setFaults({ throttleNext: { count: 1, retryAfterSec: 60, endpoints: ['auth'] } });
    await expect(client.listSecondaryApplications()).rejects.toMatchObject({
      code: 'ROT_ERR_QUALYS_RATE_LIMITED',
      retryAfterMs: 60_000,
    });
  });

  it('waits out a 429 with Retry-After and X-RateLimit-ToWait-Sec, then succeeds', async () => {
    context = await setup();
    const { sim, client } = context;
    await client.listSecondaryApplications();
    sim.setFaults({ throttleNext: { count: 1, retryAfterSec: 1, endpoints: ['list'] } });
    const started = Date.now();
    await client.listSecondaryApplications();
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(sim.callCount('list')).toBe(3);
  });

  it('waits out a 409 throttle from an older API in the same way, even for register', async () => {
    context = await setup();
    const { sim, client } = context;
    sim.setFaults({ throttleNext: { count: 1, retryAfterSec: 1, status: 409, endpoints: ['register'] } });
    const result = await client.registerSecondaryApplications({
      mappings: [{ connectorId: C1, appIds: [A1] }],
      credentials: [{ appId: A1, secret: new Secret(newSecret()) }],
    });
    expect(statuses(result)).toEqual([`${C1}/${A1}:succeeded`]);
    expect(sim.callCount('register')).toBe(2);
  });

  it('hands a long throttle to the caller as a rate-limit error carrying the wait', async () => {
    const seen: RateLimitInfo[] = [];
    context = await setup(
      { rateLimit: { limit: 3, windowMs: 60_000 } },
      {},
      { onRateLimit: (info) => seen.push(info) },
    );
    const { client } = context;
    await client.listSecondaryApplications(); // auth + list = 2 calls of 3
    expect(client.rateLimit).toMatchObject({ limit: 3, windowSec: 60, remaining: 1 });
    await client.listSecondaryApplications();
    const error = await client.listSecondaryApplications().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(QualysRateLimitedError);
    expect(error).toMatchObject({ code: 'ROT_ERR_QUALYS_RATE_LIMITED', kind: 'throttled', status: 429 });
    expect((error as QualysRateLimitedError).retryAfterMs).toBeGreaterThan(50_000);
    expect(seen.at(-1)).toMatchObject({ remaining: 0 });
    expect(context.sim.maxObservedRate(60_000)).toBeLessThanOrEqual(4);
  });

  it('retries 5xx on list and update, never on register', async () => {
    context = await setup();
    const { sim, client } = context;
    sim.setFaults({ failNext: { count: 2, status: 503, endpoints: ['list'] } });
    await client.listSecondaryApplications();
    expect(sim.callCount('list')).toBe(3);

    sim.setFaults({ failNext: { count: 1, status: 502, endpoints: ['register'] } });
    const error = await client
      .registerSecondaryApplications({
        mappings: [{ connectorId: C1, appIds: [A1] }],
        credentials: [{ appId: A1, secret: new Secret(newSecret()) }],
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(QualysHttpStatusError);
    expect(error).toMatchObject({ status: 502, kind: 'transient' });
    expect(sim.callCount('register')).toBe(1);

    sim.setFaults({ failNext: { count: 9, status: 500, endpoints: ['sync'] } });
    await expect(client.syncSecondaryApplications()).rejects.toMatchObject({
      code: 'ROT_ERR_QUALYS_HTTP_STATUS',
      status: 500,
    });
    expect(sim.callCount('sync')).toBe(FAST_HTTP.maxAttempts);
  });

  it('times out a hung call, retries it where safe and reports a timeout where not', async () => {
    context = await setup();
    const { sim, client } = context;
    await client.listSecondaryApplications();
    sim.setFaults({ hangNext: { count: 1, endpoints: ['list'] } });
    await client.listSecondaryApplications();
    expect(sim.callCount('list')).toBe(3);

    sim.setFaults({ hangNext: { count: 1, endpoints: ['register'] } });
    const error = await client
      .registerSecondaryApplications({
        mappings: [{ connectorId: C1, appIds: [A1] }],
        credentials: [{ appId: A1, secret: new Secret(newSecret()) }],
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(QualysTimeoutError);
    expect(error).toMatchObject({ code: 'ROT_ERR_QUALYS_TIMEOUT', phase: 'headers', kind: 'transient' });
    expect(sim.callCount('register')).toBe(1);
  });

  it('retries a malformed body on a safe call and types it when it persists', async () => {
    context = await setup();
    const { sim, client } = context;
    sim.setFaults({ malformedNext: { count: 1, endpoints: ['list'] } });
    expect(await client.listSecondaryApplications()).toEqual([]);
    sim.setFaults({ malformedNext: { count: 10, endpoints: ['list'] } });
    const error = await client.listSecondaryApplications().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(QualysMalformedResponseError);
    expect(error).toMatchObject({ code: 'ROT_ERR_QUALYS_MALFORMED_RESPONSE' });

    sim.setFaults({ malformedNext: { count: 1, endpoints: ['register'] } });
    await expect(
      client.registerSecondaryApplications({
        mappings: [{ connectorId: C1, appIds: [A2] }],
        credentials: [{ appId: A2, secret: new Secret(newSecret()) }],
      }),
    ).rejects.toBeInstanceOf(QualysMalformedResponseError);
    expect(sim.callCount('register')).toBe(1);
  });

  it('reports a refused connection as a network error after its attempts, request never sent', async () => {
    const port = await freePort();
    const captured = captureLogger();
    const client = new QualysConnectorClient({
      gatewayUrl: `http://127.0.0.1:${port}`,
      username: 'nobody',
      password: new Secret(newSecret()),
      http: FAST_HTTP,
      logger: captured.logger,
    });
    const error = await client.listSecondaryApplications().catch((caught: unknown) => caught);
    await client.close();
    expect(error).toBeInstanceOf(QualysNetworkError);
    expect(error).toMatchObject({ code: 'ROT_ERR_QUALYS_NETWORK', requestSent: false });
    expect(captured.lines.filter((line) => line.includes('retrying'))).toHaveLength(
      FAST_HTTP.maxAttempts - 1,
    );
    logLines.push(...captured.lines);
  });

  it('speaks HTTPS to a gateway with a certificate it trusts', async () => {
    const cert = await createSelfSignedCert();
    const dispatcher = new Agent({ connect: { ca: cert.cert } });
    context = await setup({ tls: { cert: cert.cert, key: cert.key } }, {}, { dispatcher });
    expect(context.sim.url).toMatch(/^https:/);
    expect(await context.client.listSecondaryApplications()).toEqual([]);
    await dispatcher.close();
  });
});

describe('secrets in the client suite', () => {
  it('never appear in any log line the suite wrote', () => {
    const secrets = [
      ...extraSecrets,
      ...simulators.flatMap((sim) => [sim.password, ...sim.issuedTokens(), ...sim.receivedSecrets()]),
    ];
    expect(logLines.length).toBeGreaterThan(10);
    expectNoSecrets({ logs: logLines }, secrets);
  });
});
