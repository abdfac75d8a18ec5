import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ApplicationDirectory } from '../../src/azure/application-directory.ts';
import {
  EntraCredentialError,
  EntraReadinessTimeoutError,
  GraphAppNotFoundError,
  GraphLifetimePolicyError,
  GraphPermissionError,
  GraphThrottledError,
  GraphTooManyPasswordsError,
} from '../../src/azure/errors/index.ts';
import type { AzureRequestEvent } from '../../src/azure/types.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { AzureConfig } from '../../src/config/types.ts';
import { EntraGraphSimulator } from '../../src/sim/entra/entra-graph-simulator.ts';
import { createSelfSignedCert } from '../../src/sim/shared/self-signed-cert.ts';
import { expectNoSecrets } from '../support/leak-scan.ts';
import { captureLogger } from '../support/log-capture.ts';

const T1 = randomUUID();
const T2 = randomUUID();
const ROTATOR = randomUUID();
const ROTATOR_SECRET = `rotator-secret-${randomUUID()}`;
const DAY = 86_400_000;

let sim: EntraGraphSimulator;
/** Every directory of the suite logs here, so the leak scan at the end sees all of it. */
const captured = captureLogger('trace');
const logLines = captured.lines;
const extraSecrets: string[] = [ROTATOR_SECRET];

function azureConfig(
  overrides: { graphEndpoint?: string; tenantAuth?: string; graph?: string } = {},
): AzureConfig {
  return parseConfig(
    `qualys: { gatewayUrl: https://gw.example, username: u, password: p }
azure:
  cloud: custom
  authorityHost: ${sim.authorityHost}
  graphEndpoint: ${overrides.graphEndpoint ?? sim.graphEndpoint}
  readinessTimeout: 5s
  readinessPollInterval: 50ms
  graph: ${overrides.graph ?? '{ requestTimeout: 400ms, maxAttempts: 3, retryBaseDelay: 5ms, retryMaxDelay: 20ms, maxThrottleWait: 1500ms }'}
  tenants:
    - id: ${T1}
      auth: ${overrides.tenantAuth ?? `{ kind: clientSecret, clientId: ${ROTATOR}, clientSecret: ${ROTATOR_SECRET} }`}
    - id: ${T2}
      auth: { kind: clientSecret, clientId: ${ROTATOR}, clientSecret: ${ROTATOR_SECRET} }
`,
    'inline',
  ).azure;
}

function directory(azure = azureConfig()) {
  const events: AzureRequestEvent[] = [];
  const dir = new ApplicationDirectory({
    azure,
    logger: captured.logger,
    onRequest: (event) => events.push(event),
    random: () => 1,
  });
  const from = logLines.length;
  return { dir, events, linesSince: () => logLines.slice(from) };
}

beforeAll(async () => {
  sim = await EntraGraphSimulator.start({ tls: { cert: inject('tlsCert'), key: inject('tlsKey') } });
  sim.addClient({ tenantId: T1, clientId: ROTATOR, secret: ROTATOR_SECRET });
  sim.addClient({ tenantId: T2, clientId: ROTATOR, secret: ROTATOR_SECRET });
});

afterAll(async () => {
  await sim.close();
});

describe('ApplicationDirectory against the Entra and Graph simulator (real @azure/identity and Graph client)', () => {
  it('reads an app and its password metadata, signing in once', async () => {
    const { dir } = directory();
    const app = sim.addApp({ tenantId: T1, owners: [ROTATOR], displayName: 'scanner-1' });
    const seeded = sim.seedPassword(app.appId, { displayName: 'made by hand' });
    extraSecrets.push(seeded.secretText);
    const tokensBefore = sim.callCount('token');
    const read = await dir.readApp({ tenantId: T1, appId: app.appId });
    await dir.readApp({ tenantId: T1, appId: app.appId, objectId: app.objectId });
    expect(read).toMatchObject({ appId: app.appId, objectId: app.objectId, displayName: 'scanner-1' });
    expect(read.passwords).toEqual([
      expect.objectContaining({ keyId: seeded.keyId, displayName: 'made by hand' }),
    ]);
    expect(JSON.stringify(read)).not.toContain(seeded.secretText);
    expect(sim.callCount('token') - tokensBefore).toBe(1);
  });

  it('adds a password with an explicit end date, waits for it, and removes it idempotently', async () => {
    const { dir } = directory();
    const created = sim.addApp({ tenantId: T1, owners: [ROTATOR] });
    const app = await dir.readApp({ tenantId: T1, appId: created.appId });
    const end = new Date(Date.now() + 90 * DAY);
    const added = await dir.addPassword(app, { displayName: 'rotator r-add', endDateTime: end });
    extraSecrets.push(added.secret.reveal());
    expect(added.displayName).toBe('rotator r-add');
    expect(new Date(added.endDateTime!).toISOString()).toBe(end.toISOString());
    expect(String(added.secret)).toBe('[REDACTED]');
    expect(sim.acceptsSecret(app.appId, added.secret.reveal())).toBe(true);

    const ready = await dir.waitUntilAccepted(app, added.secret);
    expect(ready.attempts).toBe(1);

    expect(await dir.removePassword(app, added.keyId)).toBe('removed');
    expect(await dir.removePassword(app, added.keyId)).toBe('absent');
    expect(sim.passwords(app.appId)).toEqual([]);
  });

  it('waits through the propagation delay until Entra accepts the new secret', async () => {
    const slow = await EntraGraphSimulator.start({
      tls: { cert: inject('tlsCert'), key: inject('tlsKey') },
      propagationDelayMs: 400,
    });
    try {
      slow.addClient({ tenantId: T1, clientId: ROTATOR, secret: ROTATOR_SECRET });
      const created = slow.addApp({ tenantId: T1, owners: [ROTATOR] });
      const azure = parseConfig(
        `qualys: { gatewayUrl: https://gw.example, username: u, password: p }
azure: { cloud: custom, authorityHost: ${slow.authorityHost}, graphEndpoint: ${slow.graphEndpoint}, readinessPollInterval: 50ms, tenants: [{ id: ${T1}, auth: { kind: clientSecret, clientId: ${ROTATOR}, clientSecret: ${ROTATOR_SECRET} } }] }`,
        'inline',
      ).azure;
      const { dir } = directory(azure);
      const app = await dir.readApp({ tenantId: T1, appId: created.appId });
      const added = await dir.addPassword(app, {
        displayName: 'rotator r-slow',
        endDateTime: new Date(Date.now() + 30 * DAY),
      });
      extraSecrets.push(added.secret.reveal(), ...slow.issuedSecrets(), ...slow.issuedTokens());
      const started = Date.now();
      const result = await dir.waitUntilAccepted(app, added.secret);
      expect(result.attempts).toBeGreaterThan(1);
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);

      const other = await dir.addPassword(app, {
        displayName: 'rotator r-slow-2',
        endDateTime: new Date(Date.now() + 30 * DAY),
      });
      extraSecrets.push(other.secret.reveal());
      const error = await dir
        .waitUntilAccepted(app, other.secret, { timeoutMs: 150 })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(EntraReadinessTimeoutError);
      expect(error).toMatchObject({ code: 'ROT_ERR_ENTRA_READINESS_TIMEOUT', kind: 'transient' });
    } finally {
      await slow.close();
    }
  });

  it('reconciles an ambiguous addPassword by displayName: no orphan key is left behind', async () => {
    for (const mode of ['500', 'hang'] as const) {
      const { dir, linesSince } = directory();
      const created = sim.addApp({ tenantId: T1, owners: [ROTATOR] });
      const app = await dir.readApp({ tenantId: T1, appId: created.appId });
      sim.setFaults({ ambiguousAddNext: { count: 1, mode } });
      const added = await dir.addPassword(app, {
        displayName: `rotator r-amb-${mode}`,
        endDateTime: new Date(Date.now() + 30 * DAY),
      });
      extraSecrets.push(added.secret.reveal());
      const keys = sim.passwords(app.appId);
      expect(keys.map((key) => key.keyId)).toEqual([added.keyId]);
      expect(sim.callCount('addPassword')).toBeGreaterThanOrEqual(2);
      expect(linesSince().some((line) => line.includes('addPassword ended ambiguously'))).toBe(true);
      sim.resetFaults();
    }
  });

  it('retries a 503 on reads, waits out a short 429 and hands a long one to the caller', async () => {
    const { dir } = directory();
    const created = sim.addApp({ tenantId: T1, owners: [ROTATOR] });
    const before = sim.callCount('getApp');
    sim.setFaults({ failNext: { count: 2, status: 503, endpoints: ['getApp'] } });
    await dir.readApp({ tenantId: T1, appId: created.appId });
    expect(sim.callCount('getApp') - before).toBe(3);

    sim.setFaults({ throttleNext: { count: 1, retryAfterSec: 1, endpoints: ['getApp'] } });
    const started = Date.now();
    await dir.readApp({ tenantId: T1, appId: created.appId });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);

    sim.setFaults({ throttleNext: { count: 1, retryAfterSec: 120, endpoints: ['getApp'] } });
    const error = await dir
      .readApp({ tenantId: T1, appId: created.appId })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GraphThrottledError);
    expect(error).toMatchObject({ kind: 'throttled', retryAfterMs: 120_000 });
    sim.resetFaults();
  });

  it('classifies every permanent failure with a message that says what to fix', async () => {
    const { dir } = directory();
    await expect(dir.readApp({ tenantId: T1, appId: randomUUID() })).rejects.toBeInstanceOf(
      GraphAppNotFoundError,
    );

    const foreign = sim.addApp({ tenantId: T1, owners: [randomUUID()] });
    const denied = await dir
      .readApp({ tenantId: T1, appId: foreign.appId })
      .catch((caught: unknown) => caught);
    expect(denied).toBeInstanceOf(GraphPermissionError);
    expect((denied as Error).message).toMatch(/Application\.ReadWrite\.OwnedBy/);

    const personal = sim.addApp({
      tenantId: T1,
      owners: [ROTATOR],
      signInAudience: 'AzureADandPersonalMicrosoftAccount',
    });
    extraSecrets.push(
      sim.seedPassword(personal.appId, {}).secretText,
      sim.seedPassword(personal.appId, {}).secretText,
    );
    const full = await dir.readApp({ tenantId: T1, appId: personal.appId });
    await expect(
      dir.addPassword(full, { displayName: 'rotator r-full', endDateTime: new Date(Date.now() + DAY) }),
    ).rejects.toBeInstanceOf(GraphTooManyPasswordsError);
  });

  it('names the lifetime a tenant policy refused', async () => {
    const strict = await EntraGraphSimulator.start({
      tls: { cert: inject('tlsCert'), key: inject('tlsKey') },
      lifetimePolicy: { [T1]: { maxLifetimeMs: 30 * DAY } },
    });
    try {
      strict.addClient({ tenantId: T1, clientId: ROTATOR, secret: ROTATOR_SECRET });
      const created = strict.addApp({ tenantId: T1, owners: [ROTATOR] });
      const azure = parseConfig(
        `qualys: { gatewayUrl: https://gw.example, username: u, password: p }
azure: { cloud: custom, authorityHost: ${strict.authorityHost}, graphEndpoint: ${strict.graphEndpoint}, tenants: [{ id: ${T1}, auth: { kind: clientSecret, clientId: ${ROTATOR}, clientSecret: ${ROTATOR_SECRET} } }] }`,
        'inline',
      ).azure;
      const { dir } = directory(azure);
      const app = await dir.readApp({ tenantId: T1, appId: created.appId });
      const error = await dir
        .addPassword(app, { displayName: 'rotator r-long', endDateTime: new Date(Date.now() + 90 * DAY) })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(GraphLifetimePolicyError);
      expect((error as Error).message).toMatch(/secret of 90 days.*lower rotation\.secretLifetime/);
      expect(strict.passwords(app.appId)).toEqual([]);
      extraSecrets.push(...strict.issuedTokens());
    } finally {
      await strict.close();
    }
  });

  it('refuses an objectId that belongs to another app, so a config slip cannot rotate the wrong app', async () => {
    const { dir } = directory();
    const [one, other] = [
      sim.addApp({ tenantId: T1, owners: [ROTATOR] }),
      sim.addApp({ tenantId: T1, owners: [ROTATOR] }),
    ];
    const error = await dir
      .readApp({ tenantId: T1, appId: one.appId, objectId: other.objectId })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GraphAppNotFoundError);
    expect((error as Error).message).toMatch(/belongs to app .*fix targets\[\]\.objectId/);
    const many = await dir.readApps([{ tenantId: T1, appId: one.appId, objectId: other.objectId }]);
    expect(many.get(one.appId)).toBeInstanceOf(GraphAppNotFoundError);
  });

  it('reports a wrong rotator secret as a permanent credential error with the AADSTS code', async () => {
    const wrong = `wrong-${randomUUID()}`;
    extraSecrets.push(wrong);
    const { dir } = directory(
      azureConfig({ tenantAuth: `{ kind: clientSecret, clientId: ${ROTATOR}, clientSecret: ${wrong} }` }),
    );
    const error = await dir.readApp({ tenantId: T1, appId: randomUUID() }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(EntraCredentialError);
    expect(error).toMatchObject({ code: 'ROT_ERR_ENTRA_CREDENTIAL', kind: 'permanent', aadsts: 7000215 });
    expect((error as Error).message).toMatch(
      new RegExp(`tenant ${T1} with its clientSecret credential: AADSTS7000215`),
    );
    expect((error as Error).message).not.toContain(wrong);
  });

  it('asks for the Graph scope of the configured endpoint (a mismatched cloud is refused)', async () => {
    const mismatched = sim.graphEndpoint.replace('127.0.0.1', 'localhost');
    const { dir } = directory(azureConfig({ graphEndpoint: mismatched }));
    const error = await dir.readApp({ tenantId: T1, appId: randomUUID() }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(EntraCredentialError);
    expect((error as EntraCredentialError).aadsts).toBe(70011);
  });

  it('reads 45 apps in 3 $batch calls and 250 apps with one paged listing, not one call per app', async () => {
    const { dir, events } = directory();
    const few = Array.from({ length: 45 }, () => sim.addApp({ tenantId: T2, owners: [ROTATOR] }));
    const missing = randomUUID();
    const batchesBefore = sim.callCount('batch');
    const read = await dir.readApps([
      ...few.map((app) => ({ tenantId: T2, appId: app.appId })),
      { tenantId: T2, appId: missing },
    ]);
    expect(sim.callCount('batch') - batchesBefore).toBe(3);
    expect(read.size).toBe(46);
    expect(read.get(missing)).toBeInstanceOf(GraphAppNotFoundError);
    expect(few.every((app) => !(read.get(app.appId) instanceof Error))).toBe(true);

    const many = Array.from({ length: 205 }, () => sim.addApp({ tenantId: T2, owners: [ROTATOR] }));
    const graphEvents = events.length;
    const all = await dir.readApps([...few, ...many].map((app) => ({ tenantId: T2, appId: app.appId })));
    expect(all.size).toBe(250);
    const calls = events.slice(graphEvents).filter((event) => event.service === 'graph');
    expect(calls.map((event) => event.operation)).toEqual(['listApps']);
  });
});

describe('other credential kinds against the simulator', () => {
  it('workload identity: a federated token file, as AKS mounts it', async () => {
    const client = randomUUID();
    const federatedToken = `federated-${randomUUID()}`;
    extraSecrets.push(federatedToken);
    sim.addClient({ tenantId: T1, clientId: client, federatedToken });
    const dir = mkdtempSync(join(tmpdir(), 'wi-'));
    writeFileSync(join(dir, 'token'), federatedToken);
    const app = sim.addApp({ tenantId: T1, owners: [client] });
    const { dir: directoryUnderTest } = directory(
      azureConfig({
        tenantAuth: `{ kind: workloadIdentity, clientId: ${client}, tokenFilePath: ${join(dir, 'token')} }`,
      }),
    );
    await expect(directoryUnderTest.readApp({ tenantId: T1, appId: app.appId })).resolves.toMatchObject({
      appId: app.appId,
    });
  });
  it('client certificate: a PEM file holding the certificate and its key', async () => {
    const client = randomUUID();
    const cert = await createSelfSignedCert(['rotator.example']);
    const pemFile = join(cert.dir, 'combined.pem');
    writeFileSync(pemFile, `${cert.key}\n${cert.cert}`);
    sim.addClient({ tenantId: T1, clientId: client, certificatePem: cert.cert });
    const app = sim.addApp({ tenantId: T1, owners: [client] });
    const { dir: directoryUnderTest } = directory(
      azureConfig({
        tenantAuth: `{ kind: clientCertificate, clientId: ${client}, certificateFile: ${pemFile} }`,
      }),
    );
    await expect(directoryUnderTest.readApp({ tenantId: T1, appId: app.appId })).resolves.toMatchObject({
      appId: app.appId,
    });
  });
});

describe('secrets in the directory suite', () => {
  it('never appear in any log line the suite wrote', () => {
    expect(logLines.length).toBeGreaterThan(30);
    expectNoSecrets({ logs: logLines }, [...extraSecrets, ...sim.issuedSecrets(), ...sim.issuedTokens()]);
  });
});
