import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { ApplicationDirectory } from '../../src/azure/application-directory.ts';
import { GraphThrottledError } from '../../src/azure/errors/index.ts';
import type { AppRef, SecondaryApp } from '../../src/azure/types.ts';
import { parseConfig } from '../../src/config/load.ts';
import { RotatorError } from '../../src/errors/rotator-error.ts';
import type { Clock, DirectoryPort } from '../../src/rotation/ports.ts';
import { EntraGraphSimulator } from '../../src/sim/entra/entra-graph-simulator.ts';
import { Secret } from '../../src/util/secret.ts';
import { FakeDirectory } from '../fakes/fake-directory.ts';
import { captureLogger } from '../support/log-capture.ts';

/**
 * The same cases against FakeDirectory (what the engine's unit tests use) and against
 * ApplicationDirectory over the real @azure/identity and Graph client talking to the Entra and Graph
 * simulator, so the fake cannot drift from the adapter.
 */

const DAY = 86_400_000;
const LOWER_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface CreatedApp {
  /** As registered: upper case when asked for. */
  readonly appId: string;
  readonly objectId: string;
  readonly displayName: string;
  readonly tenantId: string;
}

interface SeededPassword {
  readonly keyId: string;
  readonly secret: string;
  readonly startDateTime: string;
  readonly endDateTime: string;
}

/** What each world offers the cases: the port under test and a small test-side view of the directory. */
interface DirectoryWorld {
  readonly port: DirectoryPort;
  /** A tenant the rotator is configured for, where the apps live. */
  readonly tenantId: string;
  /** Another configured tenant. */
  readonly otherTenantId: string;
  now(): number;
  createApp(options?: { upperCaseIds?: boolean; inOtherTenant?: boolean }): CreatedApp;
  /** An app that already holds as many passwords as it may. */
  createFullApp(): CreatedApp;
  /** A password made outside the rotator. */
  seedUnmanagedPassword(
    appId: string,
    options: { displayName: string | null; ageMs: number; lifetimeMs: number },
  ): SeededPassword;
  /** Would Entra's token endpoint accept this secret for the app now? */
  accepts(appId: string, secret: string): boolean;
  keyIds(appId: string): string[];
  /** The next readApp is throttled with a 120 s wait. */
  throttleNextReadApp(): void;
  close(): Promise<void>;
}

class ContractClock implements Clock {
  readonly ms = Date.parse('2026-12-01T00:00:00.250Z');
  now(): number {
    return this.ms;
  }
}

function fakeWorld(): DirectoryWorld {
  const clock = new ContractClock();
  const fake = new FakeDirectory(clock);
  const tenantId = randomUUID();
  const otherTenantId = randomUUID();
  const createApp = (options: { upperCaseIds?: boolean; inOtherTenant?: boolean } = {}): CreatedApp => {
    const upper = (id: string) => (options.upperCaseIds === true ? id.toUpperCase() : id);
    const appId = upper(randomUUID());
    const objectId = upper(randomUUID());
    const tenant = options.inOtherTenant === true ? otherTenantId : tenantId;
    const created = fake.addApp(tenant, appId, objectId);
    return { appId, objectId, displayName: created.displayName ?? '', tenantId: tenant };
  };
  return {
    port: fake,
    tenantId,
    otherTenantId,
    now: () => clock.now(),
    createApp,
    createFullApp() {
      fake.maxPasswords = 2;
      const app = createApp();
      fake.seedPassword(app.appId);
      fake.seedPassword(app.appId);
      return app;
    },
    seedUnmanagedPassword(appId, options) {
      const { keyId, secret } = fake.seedPassword(appId, options);
      const start = clock.now() - options.ageMs;
      return {
        keyId,
        secret,
        startDateTime: new Date(start).toISOString(),
        endDateTime: new Date(start + options.lifetimeMs).toISOString(),
      };
    },
    accepts: (appId, secret) => fake.accepts(appId, secret),
    keyIds: (appId) => fake.keyIds(appId),
    throttleNextReadApp() {
      fake.failNext('readApp', new GraphThrottledError('readApp', 120_000));
    },
    close: async () => undefined,
  };
}

const T1 = randomUUID();
const T2 = randomUUID();
const ROTATOR = randomUUID();
const ROTATOR_SECRET = `rotator-secret-${randomUUID()}`;
let sim: EntraGraphSimulator | undefined;

async function simulator(): Promise<EntraGraphSimulator> {
  if (sim === undefined) {
    sim = await EntraGraphSimulator.start({ tls: { cert: inject('tlsCert'), key: inject('tlsKey') } });
    sim.addClient({ tenantId: T1, clientId: ROTATOR, secret: ROTATOR_SECRET });
    sim.addClient({ tenantId: T2, clientId: ROTATOR, secret: ROTATOR_SECRET });
  }
  return sim;
}

async function realWorld(): Promise<DirectoryWorld> {
  const entra = await simulator();
  const azure = parseConfig(
    `qualys: { gatewayUrl: https://gw.example, username: u, password: p }
azure:
  cloud: custom
  authorityHost: ${entra.authorityHost}
  graphEndpoint: ${entra.graphEndpoint}
  readinessTimeout: 5s
  readinessPollInterval: 50ms
  graph: { requestTimeout: 1s, maxAttempts: 3, retryBaseDelay: 5ms, retryMaxDelay: 20ms, maxThrottleWait: 1500ms }
  tenants:
    - id: ${T1}
      auth: { kind: clientSecret, clientId: ${ROTATOR}, clientSecret: ${ROTATOR_SECRET} }
    - id: ${T2}
      auth: { kind: clientSecret, clientId: ${ROTATOR}, clientSecret: ${ROTATOR_SECRET} }
`,
    'inline',
  ).azure;
  const directory = new ApplicationDirectory({
    azure,
    logger: captureLogger('info').logger,
    random: () => 1,
  });
  const createApp = (
    options: { upperCaseIds?: boolean; inOtherTenant?: boolean; personal?: boolean } = {},
  ): CreatedApp => {
    const upper = (id: string) => (options.upperCaseIds === true ? id.toUpperCase() : id);
    const tenant = options.inOtherTenant === true ? T2 : T1;
    const created = entra.addApp({
      tenantId: tenant,
      owners: [ROTATOR],
      appId: upper(randomUUID()),
      objectId: upper(randomUUID()),
      displayName: `contract ${randomUUID().slice(0, 8)}`,
      ...(options.personal === true ? { signInAudience: 'AzureADandPersonalMicrosoftAccount' as const } : {}),
    });
    return {
      appId: created.appId,
      objectId: created.objectId,
      displayName: created.displayName,
      tenantId: tenant,
    };
  };
  return {
    port: directory,
    tenantId: T1,
    otherTenantId: T2,
    now: () => Date.now(),
    createApp,
    createFullApp() {
      // Apps that allow personal Microsoft accounts hold at most 2 passwords.
      const app = createApp({ personal: true });
      entra.seedPassword(app.appId);
      entra.seedPassword(app.appId);
      return app;
    },
    seedUnmanagedPassword(appId, options) {
      const start = Date.now() - options.ageMs;
      const startDateTime = new Date(start).toISOString();
      const endDateTime = new Date(start + options.lifetimeMs).toISOString();
      const { keyId, secretText } = entra.seedPassword(appId, {
        displayName: options.displayName,
        startDateTime,
        endDateTime,
      });
      return { keyId, secret: secretText, startDateTime, endDateTime };
    },
    accepts: (appId, secret) => entra.acceptsSecret(appId, secret),
    keyIds: (appId) => entra.passwords(appId).map((password) => password.keyId),
    throttleNextReadApp() {
      entra.setFaults({ throttleNext: { count: 1, retryAfterSec: 120, endpoints: ['getApp'] } });
    },
    async close() {
      entra.resetFaults();
    },
  };
}

afterAll(async () => {
  await sim?.close();
});

/** `expect.any(String)`, typed as what it matches. */
const anyString = (): string => expect.any(String) as string;

/** An ISO date to the second: Graph and the fake may differ below it. */
function seconds(iso: string | null): number {
  expect(iso).toEqual(expect.any(String));
  const ms = Date.parse(iso ?? '');
  expect(Number.isNaN(ms)).toBe(false);
  return Math.floor(ms / 1000);
}

async function failure(promise: Promise<unknown>): Promise<RotatorError> {
  const caught = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(caught).toBeInstanceOf(RotatorError);
  return caught as RotatorError;
}

const worlds = [
  { world: 'fake', make: async (): Promise<DirectoryWorld> => fakeWorld() },
  { world: 'real', make: realWorld },
] as const;

describe.each(worlds)('DirectoryPort contract ($world)', ({ make }) => {
  let w: DirectoryWorld;
  beforeEach(async () => {
    w = await make();
  });
  afterEach(async () => {
    await w.close();
  });

  const ref = (app: CreatedApp): AppRef => ({ tenantId: app.tenantId, appId: app.appId });

  it('readApp returns lower-case ids, the objectId and password metadata without secret text', async () => {
    const app = w.createApp({ upperCaseIds: true });
    const named = w.seedUnmanagedPassword(app.appId, {
      displayName: 'made by hand',
      ageMs: 10 * DAY,
      lifetimeMs: 365 * DAY,
    });
    const unnamed = w.seedUnmanagedPassword(app.appId, {
      displayName: null,
      ageMs: DAY,
      lifetimeMs: 30 * DAY,
    });

    const read = await w.port.readApp(ref(app));

    expect(read).toEqual({
      tenantId: w.tenantId,
      appId: app.appId.toLowerCase(),
      objectId: app.objectId.toLowerCase(),
      displayName: app.displayName,
      passwords: [
        {
          keyId: named.keyId,
          displayName: 'made by hand',
          startDateTime: anyString(),
          endDateTime: anyString(),
          hint: named.secret.slice(0, 3),
        },
        {
          keyId: unnamed.keyId,
          displayName: null,
          startDateTime: anyString(),
          endDateTime: anyString(),
          hint: unnamed.secret.slice(0, 3),
        },
      ],
    });
    expect(read.passwords.map((password) => password.keyId)).toEqual(w.keyIds(app.appId));
    for (const id of [read.appId, read.objectId, ...read.passwords.map((password) => password.keyId)]) {
      expect(id).toMatch(LOWER_UUID);
    }
    const [first, second] = read.passwords;
    expect(seconds(first!.startDateTime)).toBe(seconds(named.startDateTime));
    expect(seconds(first!.endDateTime)).toBe(seconds(named.endDateTime));
    expect(seconds(second!.startDateTime)).toBe(seconds(unnamed.startDateTime));
    expect(seconds(second!.endDateTime)).toBe(seconds(unnamed.endDateTime));
    const text = JSON.stringify(read);
    expect(text).not.toContain(named.secret);
    expect(text).not.toContain(unnamed.secret);

    // The same app read by its object id (in either case) and by its lower-case appId.
    expect(await w.port.readApp({ ...ref(app), objectId: app.objectId })).toEqual(read);
    expect(
      await w.port.readApp({ tenantId: w.tenantId, appId: read.appId, objectId: read.objectId }),
    ).toEqual(read);
  });

  it('readApp of an unknown app, of another tenant’s app or by an unknown objectId: a permanent not-found', async () => {
    const app = w.createApp();
    const refs: AppRef[] = [
      { tenantId: w.tenantId, appId: randomUUID() },
      { tenantId: w.otherTenantId, appId: app.appId },
      { tenantId: w.tenantId, appId: app.appId, objectId: randomUUID() },
    ];
    for (const missing of refs) {
      const error = await failure(w.port.readApp(missing));
      expect({ code: error.code, kind: error.kind }).toEqual({
        code: 'ROT_ERR_GRAPH_APP_NOT_FOUND',
        kind: 'permanent',
      });
    }
  });

  it('addPassword and removePassword on an app that does not exist: a permanent not-found', async () => {
    const ghost: SecondaryApp = {
      tenantId: w.tenantId,
      appId: randomUUID(),
      objectId: randomUUID(),
      displayName: null,
      passwords: [],
    };
    const added = await failure(
      w.port.addPassword(ghost, { displayName: 'rotator r-ghost', endDateTime: new Date(w.now() + DAY) }),
    );
    const removed = await failure(w.port.removePassword(ghost, randomUUID()));
    for (const error of [added, removed]) {
      expect({ code: error.code, kind: error.kind }).toEqual({
        code: 'ROT_ERR_GRAPH_APP_NOT_FOUND',
        kind: 'permanent',
      });
    }
  });

  it('readApps returns a map keyed by lower-case appId, across tenants, with an error per missing app', async () => {
    const plain = w.createApp();
    const shouting = w.createApp({ upperCaseIds: true });
    const elsewhere = w.createApp({ inOtherTenant: true });
    const missing = randomUUID().toUpperCase();

    const read = await w.port.readApps([
      ref(plain),
      ref(shouting),
      { tenantId: w.tenantId, appId: missing },
      ref(elsewhere),
    ]);

    expect([...read.keys()].sort()).toEqual(
      [plain.appId, shouting.appId.toLowerCase(), missing.toLowerCase(), elsewhere.appId].sort(),
    );
    for (const app of [plain, shouting, elsewhere]) {
      expect(read.get(app.appId.toLowerCase())).toEqual({
        tenantId: app.tenantId,
        appId: app.appId.toLowerCase(),
        objectId: app.objectId.toLowerCase(),
        displayName: app.displayName,
        passwords: [],
      });
    }
    const error = read.get(missing.toLowerCase());
    expect(error).toBeInstanceOf(RotatorError);
    expect(error).toMatchObject({ code: 'ROT_ERR_GRAPH_APP_NOT_FOUND', kind: 'permanent' });
  });

  it('addPassword returns the key with the requested name and end, and a Secret Entra accepts', async () => {
    const created = w.createApp({ upperCaseIds: true });
    const seeded = w.seedUnmanagedPassword(created.appId, {
      displayName: 'made by hand',
      ageMs: 40 * DAY,
      lifetimeMs: 365 * DAY,
    });
    const app = await w.port.readApp(ref(created));
    const end = new Date(w.now() + 90 * DAY + 123);

    const added = await w.port.addPassword(app, { displayName: 'rotator r-contract', endDateTime: end });

    expect(added.keyId).toMatch(LOWER_UUID);
    expect(added.keyId).not.toBe(seeded.keyId);
    expect(added.displayName).toBe('rotator r-contract');
    expect(seconds(added.endDateTime)).toBe(Math.floor(end.getTime() / 1000));
    expect(Math.abs(seconds(added.startDateTime) - Math.floor(w.now() / 1000))).toBeLessThanOrEqual(5);
    expect(added.secret).toBeInstanceOf(Secret);
    expect(String(added.secret)).toBe('[REDACTED]');
    expect(JSON.stringify(added)).not.toContain(added.secret.reveal());
    expect(added.hint).toBe(added.secret.reveal().slice(0, 3));
    expect(w.accepts(app.appId, added.secret.reveal())).toBe(true);
    expect(w.accepts(app.appId, `${added.secret.reveal()}x`)).toBe(false);

    // The new key is in the app now, after the one that was there, as metadata only.
    const reread = await w.port.readApp(ref(created));
    expect(reread.passwords).toEqual([
      app.passwords[0],
      {
        keyId: added.keyId,
        displayName: 'rotator r-contract',
        startDateTime: added.startDateTime,
        endDateTime: added.endDateTime,
        hint: added.hint,
      },
    ]);
    expect(w.keyIds(created.appId)).toEqual([seeded.keyId, added.keyId]);
    expect(JSON.stringify(reread)).not.toContain(added.secret.reveal());
  });

  it('addPassword with an end that is not after its start is refused permanently and adds nothing', async () => {
    const created = w.createApp();
    const app = await w.port.readApp(ref(created));
    const start = new Date(w.now() + DAY);
    const error = await failure(
      w.port.addPassword(app, {
        displayName: 'rotator r-backwards',
        startDateTime: start,
        endDateTime: start,
      }),
    );
    expect({ code: error.code, kind: error.kind }).toEqual({
      code: 'ROT_ERR_GRAPH_HTTP_STATUS',
      kind: 'permanent',
    });
    expect(w.keyIds(created.appId)).toEqual([]);
  });

  it('removePassword returns removed, then absent; the key and its secret are gone', async () => {
    const created = w.createApp();
    const app = await w.port.readApp(ref(created));
    const kept = await w.port.addPassword(app, {
      displayName: 'rotator r-kept',
      endDateTime: new Date(w.now() + 30 * DAY),
    });
    const doomed = await w.port.addPassword(app, {
      displayName: 'rotator r-doomed',
      endDateTime: new Date(w.now() + 30 * DAY),
    });
    const shouted = await w.port.addPassword(app, {
      displayName: 'rotator r-shouted',
      endDateTime: new Date(w.now() + 30 * DAY),
    });

    expect(await w.port.removePassword(app, doomed.keyId)).toBe('removed');
    expect(await w.port.removePassword(app, doomed.keyId)).toBe('absent');
    // keyIds are GUIDs: Graph matches them whatever their case.
    expect(await w.port.removePassword(app, shouted.keyId.toUpperCase())).toBe('removed');
    expect(await w.port.removePassword(app, randomUUID())).toBe('absent');

    expect(w.keyIds(created.appId)).toEqual([kept.keyId]);
    expect((await w.port.readApp(ref(created))).passwords.map((password) => password.keyId)).toEqual([
      kept.keyId,
    ]);
    expect(w.accepts(app.appId, doomed.secret.reveal())).toBe(false);
    expect(w.accepts(app.appId, kept.secret.reveal())).toBe(true);
  });

  it('waitUntilAccepted resolves for a good secret and fails transiently for a removed key’s secret', async () => {
    const created = w.createApp();
    const app = await w.port.readApp(ref(created));
    const good = await w.port.addPassword(app, {
      displayName: 'rotator r-good',
      endDateTime: new Date(w.now() + 30 * DAY),
    });
    const gone = await w.port.addPassword(app, {
      displayName: 'rotator r-gone',
      endDateTime: new Date(w.now() + 30 * DAY),
    });
    expect(await w.port.removePassword(app, gone.keyId)).toBe('removed');

    const ready = await w.port.waitUntilAccepted(ref(created), good.secret, { timeoutMs: 2_000 });
    expect(ready.attempts).toBe(1);
    expect(ready.waitedMs).toBeGreaterThanOrEqual(0);
    expect(ready.waitedMs).toBeLessThan(2_000);

    const error = await failure(w.port.waitUntilAccepted(ref(created), gone.secret, { timeoutMs: 150 }));
    expect({ code: error.code, kind: error.kind }).toEqual({
      code: 'ROT_ERR_ENTRA_READINESS_TIMEOUT',
      kind: 'transient',
    });
    expect(error.message).not.toContain(gone.secret.reveal());
  });

  it('waitUntilAccepted refuses an expired key’s secret permanently, without waiting out the bound', async () => {
    const created = w.createApp();
    const expired = w.seedUnmanagedPassword(created.appId, {
      displayName: 'made by hand',
      ageMs: 10 * DAY,
      lifetimeMs: DAY,
    });
    expect(w.accepts(created.appId, expired.secret)).toBe(false);
    const error = await failure(
      w.port.waitUntilAccepted(ref(created), new Secret(expired.secret), { timeoutMs: 3_000 }),
    );
    expect({ code: error.code, kind: error.kind }).toEqual({
      code: 'ROT_ERR_ENTRA_SECRET_REJECTED',
      kind: 'permanent',
    });
    expect(error.message).not.toContain(expired.secret);
  });

  it('addPassword on an app that holds as many passwords as it may: ROT_ERR_GRAPH_TOO_MANY_PASSWORDS', async () => {
    const created = w.createFullApp();
    const before = w.keyIds(created.appId);
    expect(before).toHaveLength(2);
    const app = await w.port.readApp(ref(created));
    const error = await failure(
      w.port.addPassword(app, { displayName: 'rotator r-full', endDateTime: new Date(w.now() + DAY) }),
    );
    expect({ code: error.code, kind: error.kind }).toEqual({
      code: 'ROT_ERR_GRAPH_TOO_MANY_PASSWORDS',
      kind: 'permanent',
    });
    expect(w.keyIds(created.appId)).toEqual(before);
  });

  it('a throttled readApp throws a throttled error with the wait, and the next read succeeds', async () => {
    const created = w.createApp();
    w.throttleNextReadApp();
    const error = await failure(w.port.readApp(ref(created)));
    expect({ code: error.code, kind: error.kind, retryAfterMs: error.retryAfterMs }).toEqual({
      code: 'ROT_ERR_GRAPH_THROTTLED',
      kind: 'throttled',
      retryAfterMs: 120_000,
    });
    expect((await w.port.readApp(ref(created))).appId).toBe(created.appId);
  });
});
