import { randomBytes, randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { QualysHttpOptions } from '../../src/config/types.ts';
import { RotatorError } from '../../src/errors/rotator-error.ts';
import { QualysConnectorClient } from '../../src/qualys/connector-api-client.ts';
import { QualysHttpStatusError } from '../../src/qualys/errors/index.ts';
import type { BatchResult, ConnectorMapping, PairOutcome } from '../../src/qualys/types.ts';
import type { ConnectorApiPort } from '../../src/rotation/ports.ts';
import { QualysSimulator } from '../../src/sim/qualys/qualys-simulator.ts';
import { Secret } from '../../src/util/secret.ts';
import { FakeConnectorApi } from '../fakes/fake-connector-api.ts';
import { captureLogger } from '../support/log-capture.ts';

/**
 * The same cases against FakeConnectorApi (what the engine's unit tests use) and against
 * QualysConnectorClient over undici talking to the Qualys simulator, so the fake cannot drift.
 */

const LOWER_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SYNCED = 'Successfully synced the secondary application into redis';

const FAST_HTTP: QualysHttpOptions = {
  connectTimeoutMs: 1_000,
  headersTimeoutMs: 1_000,
  bodyTimeoutMs: 1_000,
  maxAttempts: 3,
  retryBaseDelayMs: 5,
  retryMaxDelayMs: 20,
  maxThrottleWaitMs: 1_500,
  tokenRefreshBeforeExpiryMs: 300_000,
};

type Validator = (appId: string, secret: string) => boolean;

/** What each world offers the cases: the port under test and a small test-side view of Qualys. */
interface ConnectorWorld {
  readonly port: ConnectorApiPort;
  /** A connector Qualys knows, its id as registered (upper case when asked). */
  createConnector(options?: { upperCase?: boolean }): string;
  /** A pair registered before the rotator arrived, already in Qualys' cache. */
  seed(connectorId: string, appId: string, secret: string): void;
  storedSecret(connectorId: string, appId: string): string | undefined;
  /** How Qualys validates a credential on register and update (default: accepts any). */
  setValidator(validator: Validator): void;
  /** The next register call answers HTTP 502 before doing anything. */
  failNextRegister(): void;
  close(): Promise<void>;
}

function fakeWorld(): ConnectorWorld {
  const fake = new FakeConnectorApi();
  return {
    port: fake,
    createConnector(options = {}) {
      const id = options.upperCase === true ? randomUUID().toUpperCase() : randomUUID();
      fake.addConnector(id);
      return id;
    },
    seed: (connectorId, appId, secret) => fake.seed(connectorId, appId, secret),
    storedSecret: (connectorId, appId) => fake.secretOf(connectorId, appId),
    setValidator(validator) {
      fake.validate = validator;
    },
    failNextRegister() {
      fake.failNext('register', new QualysHttpStatusError('register', 502));
    },
    close: async () => undefined,
  };
}

async function realWorld(): Promise<ConnectorWorld> {
  let validator: Validator = () => true;
  const sim = await QualysSimulator.start({
    validateCredential: (appId, secret) => validator(appId, secret),
  });
  const client = new QualysConnectorClient({
    gatewayUrl: sim.url,
    username: sim.username,
    password: new Secret(sim.password),
    http: FAST_HTTP,
    logger: captureLogger('info').logger,
    random: () => 1,
  });
  return {
    port: client,
    createConnector(options = {}) {
      const id = options.upperCase === true ? randomUUID().toUpperCase() : randomUUID();
      sim.addConnector(id);
      return id;
    },
    seed: (connectorId, appId, secret) => sim.seedMapping(connectorId, appId, secret),
    storedSecret: (connectorId, appId) => sim.storedSecret(connectorId, appId),
    setValidator(next) {
      validator = next;
    },
    failNextRegister() {
      sim.setFaults({ failNext: { count: 1, status: 502, endpoints: ['register'] } });
    },
    async close() {
      await client.close();
      await sim.close();
    },
  };
}

const newSecret = () => `contract-${randomBytes(12).toString('base64url')}`;

/** `expect.stringMatching`, typed as what it matches. */
const matching = (pattern: RegExp): string => expect.stringMatching(pattern) as string;

/** Outcomes without their free-text message, which the cases check apart. */
function statuses(result: BatchResult): Omit<PairOutcome, 'message'>[] {
  return result.outcomes.map(({ message: _message, ...outcome }) => outcome);
}

/** Every failed outcome says, in its message, which id it is about. */
function expectMessagesNameTheirPair(result: BatchResult): void {
  for (const outcome of result.outcomes.filter((candidate) => candidate.status === 'failed')) {
    const about = outcome.errorCode === 'CONNECTOR_NOT_FOUND' ? outcome.connectorId : outcome.appId;
    expect(outcome.message?.toLowerCase()).toContain(about);
  }
}

/** The list as a comparable value: connectors sorted, apps sorted, only the given connectors. */
function listed(mappings: readonly ConnectorMapping[], connectors: readonly string[]): ConnectorMapping[] {
  const wanted = new Set(connectors.map((id) => id.toLowerCase()));
  return mappings
    .filter((mapping) => wanted.has(mapping.connectorId.toLowerCase()))
    .map((mapping) => ({ connectorId: mapping.connectorId, appIds: [...mapping.appIds].sort() }))
    .sort((a, b) => a.connectorId.localeCompare(b.connectorId));
}

const worlds = [
  { world: 'fake', make: async (): Promise<ConnectorWorld> => fakeWorld() },
  { world: 'real', make: realWorld },
] as const;

describe.each(worlds)('ConnectorApiPort contract ($world)', ({ make }) => {
  let w: ConnectorWorld;
  beforeEach(async () => {
    w = await make();
  });
  afterEach(async () => {
    await w.close();
  });

  it('registers new pairs: every pair succeeds and Qualys stores each app’s secret', async () => {
    const [c1, c2] = [w.createConnector(), w.createConnector()];
    const [a1, a2] = [randomUUID(), randomUUID()];
    const [s1, s2] = [newSecret(), newSecret()];

    const result = await w.port.registerSecondaryApplications({
      mappings: [
        { connectorId: c1, appIds: [a1, a2] },
        { connectorId: c2, appIds: [a1] },
      ],
      credentials: [
        { appId: a1, secret: new Secret(s1) },
        { appId: a2, secret: new Secret(s2) },
      ],
    });

    expect(result).toEqual({
      httpStatus: 200,
      message: 'All items processed successfully',
      outcomes: [
        { connectorId: c1, appId: a1, status: 'succeeded' },
        { connectorId: c1, appId: a2, status: 'succeeded' },
        { connectorId: c2, appId: a1, status: 'succeeded' },
      ],
      unmatchedFailures: [],
    });
    expect([w.storedSecret(c1, a1), w.storedSecret(c1, a2), w.storedSecret(c2, a1)]).toEqual([s1, s2, s1]);
    expect(w.storedSecret(c2, a2)).toBeUndefined();
  });

  it('registering a pair that exists fails with an ALREADY code and keeps its secret; the others succeed', async () => {
    const connector = w.createConnector();
    const [old, fresh] = [randomUUID(), randomUUID()];
    w.seed(connector, old, 'seeded-secret-1');
    const secret = newSecret();

    const result = await w.port.registerSecondaryApplications({
      mappings: [{ connectorId: connector, appIds: [old, fresh] }],
      credentials: [
        { appId: old, secret: new Secret(secret) },
        { appId: fresh, secret: new Secret(secret) },
      ],
    });

    expect(result.httpStatus).toBe(200);
    expect(result.message).toBe('Some items failed to process');
    expect(statuses(result)).toEqual([
      { connectorId: connector, appId: old, status: 'failed', errorCode: matching(/ALREADY/) },
      { connectorId: connector, appId: fresh, status: 'succeeded' },
    ]);
    expectMessagesNameTheirPair(result);
    expect(w.storedSecret(connector, old)).toBe('seeded-secret-1');
    expect(w.storedSecret(connector, fresh)).toBe(secret);
  });

  it('updating a pair that is not registered fails with a not-found code and registers nothing', async () => {
    const connector = w.createConnector();
    const [registered, stranger] = [randomUUID(), randomUUID()];
    w.seed(connector, registered, 'seeded-secret-2');
    const secret = newSecret();

    const result = await w.port.updateSecondaryApplications({
      mappings: [{ connectorId: connector, appIds: [stranger, registered] }],
      credentials: [
        { appId: stranger, secret: new Secret(secret) },
        { appId: registered, secret: new Secret(secret) },
      ],
    });

    expect(result.httpStatus).toBe(200);
    expect(statuses(result)).toEqual([
      {
        connectorId: connector,
        appId: stranger,
        status: 'failed',
        errorCode: matching(/NOT_FOUND|NOT_REGISTERED/),
      },
      { connectorId: connector, appId: registered, status: 'succeeded' },
    ]);
    expectMessagesNameTheirPair(result);
    expect(w.storedSecret(connector, stranger)).toBeUndefined();
    expect(w.storedSecret(connector, registered)).toBe(secret);
  });

  it('an update whose credential the validator rejects fails CREDENTIAL_VALIDATION_FAILED and keeps the old secret', async () => {
    const connector = w.createConnector();
    const [bad, good] = [randomUUID(), randomUUID()];
    w.seed(connector, bad, 'seeded-secret-3');
    w.seed(connector, good, 'seeded-secret-4');
    const [rejected, accepted] = [newSecret(), newSecret()];
    const asked: string[] = [];
    w.setValidator((appId, secret) => {
      asked.push(appId);
      return secret !== rejected;
    });

    const result = await w.port.updateSecondaryApplications({
      mappings: [{ connectorId: connector, appIds: [bad, good] }],
      credentials: [
        { appId: bad, secret: new Secret(rejected) },
        { appId: good, secret: new Secret(accepted) },
      ],
    });

    expect(statuses(result)).toEqual([
      { connectorId: connector, appId: bad, status: 'failed', errorCode: 'CREDENTIAL_VALIDATION_FAILED' },
      { connectorId: connector, appId: good, status: 'succeeded' },
    ]);
    expectMessagesNameTheirPair(result);
    expect(JSON.stringify(result)).not.toContain(rejected);
    expect(asked.sort()).toEqual([bad, good].sort());
    expect(w.storedSecret(connector, bad)).toBe('seeded-secret-3');
    expect(w.storedSecret(connector, good)).toBe(accepted);
  });

  it('an unknown connector fails CONNECTOR_NOT_FOUND on register, update and delete', async () => {
    const known = w.createConnector();
    const unknown = randomUUID();
    const app = randomUUID();
    const secret = newSecret();
    const batch = {
      mappings: [
        { connectorId: unknown, appIds: [app] },
        { connectorId: known, appIds: [app] },
      ],
      credentials: [{ appId: app, secret: new Secret(secret) }],
    };
    const notFound = { connectorId: unknown, appId: app, status: 'failed', errorCode: 'CONNECTOR_NOT_FOUND' };

    const registered = await w.port.registerSecondaryApplications(batch);
    expect(statuses(registered)).toEqual([notFound, { connectorId: known, appId: app, status: 'succeeded' }]);
    expectMessagesNameTheirPair(registered);
    const updated = await w.port.updateSecondaryApplications(batch);
    expect(statuses(updated)).toEqual([notFound, { connectorId: known, appId: app, status: 'succeeded' }]);
    const deleted = await w.port.deleteSecondaryApplications([{ connectorId: unknown, appIds: [app] }]);
    expect(statuses(deleted)).toEqual([notFound]);
    expectMessagesNameTheirPair(deleted);
    expect(w.storedSecret(unknown, app)).toBeUndefined();
  });

  it('a call in which every pair fails answers HTTP 400 with every pair’s outcome', async () => {
    const connector = w.createConnector();
    const app = randomUUID();
    w.seed(connector, app, 'seeded-secret-5');
    const result = await w.port.registerSecondaryApplications({
      mappings: [
        { connectorId: connector, appIds: [app] },
        { connectorId: randomUUID(), appIds: [app] },
      ],
      credentials: [{ appId: app, secret: new Secret(newSecret()) }],
    });
    expect(result.httpStatus).toBe(400);
    expect(result.message).toBe('All items failed to process');
    expect(result.outcomes.map((outcome) => [outcome.status, outcome.errorCode])).toEqual([
      ['failed', 'ALREADY_REGISTERED'],
      ['failed', 'CONNECTOR_NOT_FOUND'],
    ]);
  });

  it('the list is stale until sync, then shows the pairs with lower-case ids', async () => {
    const c1 = w.createConnector({ upperCase: true });
    const c2 = w.createConnector({ upperCase: true });
    const seededApp = randomUUID().toUpperCase();
    const [a1, a2] = [randomUUID().toUpperCase(), randomUUID().toUpperCase()];
    w.seed(c2, seededApp, 'seeded-secret-6');

    const result = await w.port.registerSecondaryApplications({
      mappings: [
        { connectorId: c1, appIds: [a1, a2] },
        { connectorId: c2, appIds: [a1] },
      ],
      credentials: [
        { appId: a1, secret: new Secret(newSecret()) },
        { appId: a2, secret: new Secret(newSecret()) },
      ],
    });
    expect(result.outcomes.map((outcome) => outcome.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);

    // Only what was there before (the seeded pair) is listed until a sync.
    expect(listed(await w.port.listSecondaryApplications(), [c1, c2])).toEqual([
      { connectorId: c2.toLowerCase(), appIds: [seededApp.toLowerCase()] },
    ]);
    expect(await w.port.syncSecondaryApplications()).toEqual({ message: SYNCED });

    const after = await w.port.listSecondaryApplications();
    expect(listed(after, [c1, c2])).toEqual(
      [
        { connectorId: c1.toLowerCase(), appIds: [a1, a2].map((id) => id.toLowerCase()).sort() },
        {
          connectorId: c2.toLowerCase(),
          appIds: [a1, seededApp].map((id) => id.toLowerCase()).sort(),
        },
      ].sort((a, b) => a.connectorId.localeCompare(b.connectorId)),
    );
    for (const mapping of after) {
      expect(mapping.connectorId).toMatch(LOWER_UUID);
      for (const appId of mapping.appIds) expect(appId).toMatch(LOWER_UUID);
    }
  });

  it('delete removes a pair: it succeeds once, then fails not-found, and the synced list drops it', async () => {
    const connector = w.createConnector();
    const [kept, doomed] = [randomUUID(), randomUUID()];
    w.seed(connector, kept, 'seeded-secret-7');
    w.seed(connector, doomed, 'seeded-secret-8');

    const deleted = await w.port.deleteSecondaryApplications([{ connectorId: connector, appIds: [doomed] }]);
    expect(deleted.httpStatus).toBe(200);
    expect(statuses(deleted)).toEqual([{ connectorId: connector, appId: doomed, status: 'succeeded' }]);
    expect(w.storedSecret(connector, doomed)).toBeUndefined();
    expect(w.storedSecret(connector, kept)).toBe('seeded-secret-7');

    // Stale until sync, like every other change.
    expect(listed(await w.port.listSecondaryApplications(), [connector])).toEqual([
      { connectorId: connector, appIds: [kept, doomed].sort() },
    ]);
    await w.port.syncSecondaryApplications();
    expect(listed(await w.port.listSecondaryApplications(), [connector])).toEqual([
      { connectorId: connector, appIds: [kept] },
    ]);

    const again = await w.port.deleteSecondaryApplications([{ connectorId: connector, appIds: [doomed] }]);
    expect(again.httpStatus).toBe(400);
    expect(statuses(again)).toEqual([
      {
        connectorId: connector,
        appId: doomed,
        status: 'failed',
        errorCode: matching(/NOT_FOUND|NOT_REGISTERED/),
      },
    ]);
    expectMessagesNameTheirPair(again);

    // A connector whose last pair goes is not listed at all.
    await w.port.deleteSecondaryApplications([{ connectorId: connector, appIds: [kept] }]);
    await w.port.syncSecondaryApplications();
    expect(listed(await w.port.listSecondaryApplications(), [connector])).toEqual([]);
  });

  it('outcomes come in request order with lower-case ids; one failed pair does not fail the others', async () => {
    const c1 = w.createConnector({ upperCase: true });
    const c2 = w.createConnector({ upperCase: true });
    const [a1, a2, a3] = [randomUUID().toUpperCase(), randomUUID().toUpperCase(), randomUUID().toUpperCase()];
    w.seed(c1, a1, 'seeded-secret-9');
    w.seed(c2, a1, 'seeded-secret-10');
    w.seed(c2, a3, 'seeded-secret-11');
    const rejected = newSecret();
    w.setValidator((_appId, secret) => secret !== rejected);
    const good = newSecret();

    const result = await w.port.updateSecondaryApplications({
      mappings: [
        { connectorId: c2, appIds: [a3, a1] },
        { connectorId: c1, appIds: [a2, a1] },
      ],
      credentials: [
        { appId: a1, secret: new Secret(good) },
        { appId: a2, secret: new Secret(good) },
        { appId: a3, secret: new Secret(rejected) },
      ],
    });

    const lower = (id: string) => id.toLowerCase();
    expect(statuses(result)).toEqual([
      {
        connectorId: lower(c2),
        appId: lower(a3),
        status: 'failed',
        errorCode: 'CREDENTIAL_VALIDATION_FAILED',
      },
      { connectorId: lower(c2), appId: lower(a1), status: 'succeeded' },
      {
        connectorId: lower(c1),
        appId: lower(a2),
        status: 'failed',
        errorCode: matching(/NOT_FOUND|NOT_REGISTERED/),
      },
      { connectorId: lower(c1), appId: lower(a1), status: 'succeeded' },
    ]);
    expectMessagesNameTheirPair(result);
    expect(result.httpStatus).toBe(200);
    expect(result.unmatchedFailures).toEqual([]);
    expect([w.storedSecret(c1, a1), w.storedSecret(c2, a1), w.storedSecret(c2, a3)]).toEqual([
      good,
      good,
      'seeded-secret-11',
    ]);
  });

  it('a pair named twice in one call is processed once and both mentions report its outcome', async () => {
    const connector = w.createConnector();
    const app = randomUUID();
    const secret = newSecret();
    const result = await w.port.registerSecondaryApplications({
      mappings: [
        { connectorId: connector, appIds: [app, app] },
        { connectorId: connector, appIds: [app] },
      ],
      credentials: [{ appId: app, secret: new Secret(secret) }],
    });
    expect(statuses(result)).toEqual([
      { connectorId: connector, appId: app, status: 'succeeded' },
      { connectorId: connector, appId: app, status: 'succeeded' },
      { connectorId: connector, appId: app, status: 'succeeded' },
    ]);
    expect(w.storedSecret(connector, app)).toBe(secret);
  });

  it('a batch Qualys cannot accept is refused before it is sent: ROT_ERR_QUALYS_INVALID_REQUEST', async () => {
    const connector = w.createConnector();
    const [app, other] = [randomUUID(), randomUUID()];
    const invalid = [
      { mappings: [], credentials: [{ appId: app, secret: new Secret(newSecret()) }] },
      {
        mappings: [{ connectorId: connector, appIds: [app, other] }],
        credentials: [{ appId: app, secret: new Secret(newSecret()) }],
      },
      {
        mappings: [{ connectorId: connector, appIds: [app] }],
        credentials: [{ appId: app, secret: new Secret('') }],
      },
    ];
    for (const batch of invalid) {
      for (const call of [
        () => w.port.registerSecondaryApplications(batch),
        () => w.port.updateSecondaryApplications(batch),
      ]) {
        const error = await call().then(
          () => undefined,
          (caught: unknown) => caught,
        );
        expect(error).toBeInstanceOf(RotatorError);
        expect(error).toMatchObject({ code: 'ROT_ERR_QUALYS_INVALID_REQUEST', kind: 'permanent' });
      }
    }
    expect([w.storedSecret(connector, app), w.storedSecret(connector, other)]).toEqual([
      undefined,
      undefined,
    ]);
  });

  it('a credential whose appId differs in case from its mapping passes the client but Qualys misses it', async () => {
    const connector = w.createConnector();
    const app = randomUUID();
    const result = await w.port.registerSecondaryApplications({
      mappings: [{ connectorId: connector, appIds: [app] }],
      credentials: [{ appId: app.toUpperCase(), secret: new Secret(newSecret()) }],
    });
    expect(result.httpStatus).toBe(400);
    expect(statuses(result)).toEqual([
      { connectorId: connector, appId: app, status: 'failed', errorCode: 'MISSING_CREDENTIAL' },
    ]);
    expectMessagesNameTheirPair(result);
    expect(w.storedSecret(connector, app)).toBeUndefined();
  });

  it('one app given two different secrets in one call: the whole call is refused with HTTP 400', async () => {
    const connector = w.createConnector();
    const app = randomUUID();
    const error = await w.port
      .registerSecondaryApplications({
        mappings: [{ connectorId: connector, appIds: [app] }],
        credentials: [
          { appId: app, secret: new Secret(newSecret()) },
          { appId: app, secret: new Secret(newSecret()) },
        ],
      })
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    expect(error).toBeInstanceOf(RotatorError);
    expect(error).toMatchObject({ code: 'ROT_ERR_QUALYS_HTTP_STATUS', kind: 'permanent', status: 400 });
    expect(w.storedSecret(connector, app)).toBeUndefined();
  });

  it('a register that fails with a 5xx throws a transient error and stores nothing', async () => {
    const connector = w.createConnector();
    const app = randomUUID();
    w.failNextRegister();
    const batch = {
      mappings: [{ connectorId: connector, appIds: [app] }],
      credentials: [{ appId: app, secret: new Secret(newSecret()) }],
    };
    const error = await w.port.registerSecondaryApplications(batch).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(RotatorError);
    expect(error).toMatchObject({ code: 'ROT_ERR_QUALYS_HTTP_STATUS', kind: 'transient', status: 502 });
    expect(w.storedSecret(connector, app)).toBeUndefined();
    // Only the one call failed.
    expect(statuses(await w.port.registerSecondaryApplications(batch))).toEqual([
      { connectorId: connector, appId: app, status: 'succeeded' },
    ]);
  });
});
