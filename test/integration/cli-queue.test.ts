import { runRotator, type RotatorRun } from '../support/rotator-process.ts';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/observability/logger.ts';
import type { DeadLetterItem } from '../../src/queue/dead-letters.ts';
import { rotateJobId } from '../../src/queue/job-data.ts';
import type { ReplayResult, TargetStatus } from '../../src/queue/operations.ts';
import { EntraGraphSimulator } from '../../src/sim/entra/entra-graph-simulator.ts';
import { QualysSimulator } from '../../src/sim/qualys/qualys-simulator.ts';
import { startWorker, type WorkerApp } from '../../src/worker/worker-app.ts';
import { expectNoSecrets } from '../support/leak-scan.ts';

/**
 * `rotator enqueue`, `status` and `dlq` as an operator runs them, against a worker running in this
 * process, the simulators and a real Redis: queue a rotation and wait for it, read the status, see
 * permanent failures land in the dead-letter queue, fix the cause, replay, purge.
 */

const TENANT = randomUUID();
const ROTATOR = randomUUID();
const ROTATOR_SECRET = `rotator-${randomUUID()}`;
const QUALYS_PASSWORD = `qualys-${randomUUID()}`;

let entra: EntraGraphSimulator;
let qualys: QualysSimulator;
let worker: WorkerApp | undefined;
let configFile: string;
/** Rotates normally. */
const healthy = { appId: '', connectors: [randomUUID(), randomUUID()], seededSecret: '' };
/** Not owned by the rotator's identity: Graph answers 403, a permanent failure of the whole target. */
const foreign = { appId: '', connector: randomUUID() };
/** Serves a connector Qualys does not know (yet): the push fails for good, until the connector exists. */
const orphan = { appId: '', connector: randomUUID() };
const outputs: string[] = [];

type Run = RotatorRun;

async function rotator(args: string[], config = configFile): Promise<Run> {
  const run = await runRotator([...args, '--config', config]);
  outputs.push(run.stdout, run.stderr);
  return run;
}

/** Parses a command's JSON output; on failure the assertion shows what the command printed. */
function json(run: Run): unknown {
  expect(run.code, run.stdout + run.stderr).not.toBeNull();
  return JSON.parse(run.stdout);
}

function expectAcceptedEverywhere(appId: string, connectors: readonly string[]): void {
  for (const connector of connectors) {
    const secret = qualys.storedSecret(connector, appId);
    expect(secret, `connector ${connector} holds a secret for ${appId}`).toBeDefined();
    expect(entra.acceptsSecret(appId, secret!), `Entra accepts the secret of connector ${connector}`).toBe(
      true,
    );
  }
}

beforeAll(async () => {
  entra = await EntraGraphSimulator.start({
    tls: { cert: inject('tlsCert'), key: inject('tlsKey') },
    propagationDelayMs: 150,
  });
  entra.addClient({ tenantId: TENANT, clientId: ROTATOR, secret: ROTATOR_SECRET });
  qualys = await QualysSimulator.start({
    password: QUALYS_PASSWORD,
    validateCredential: (appId, secret) => entra.acceptsSecret(appId, secret),
  });

  healthy.appId = entra.addApp({ tenantId: TENANT, owners: [ROTATOR] }).appId;
  const seeded = entra.seedPassword(healthy.appId, {
    displayName: 'set up by hand',
    startDateTime: new Date(Date.now() - 40 * 86_400_000).toISOString(),
  });
  healthy.seededSecret = seeded.secretText;
  for (const connector of healthy.connectors) qualys.seedMapping(connector, healthy.appId, seeded.secretText);

  foreign.appId = entra.addApp({ tenantId: TENANT, owners: [randomUUID()] }).appId;
  qualys.addConnector(foreign.connector);
  orphan.appId = entra.addApp({ tenantId: TENANT, owners: [ROTATOR] }).appId;

  const dir = mkdtempSync(join(tmpdir(), 'rotator-queue-'));
  configFile = join(dir, 'rotator.yaml');
  writeFileSync(
    configFile,
    `qualys:
  gatewayUrl: ${qualys.url}
  username: ${qualys.username}
  password: ${QUALYS_PASSWORD}
  http: { retryBaseDelay: 10ms, retryMaxDelay: 50ms }
azure:
  cloud: custom
  authorityHost: ${entra.authorityHost}
  graphEndpoint: ${entra.graphEndpoint}
  readinessPollInterval: 50ms
  readinessTimeout: 20s
  graph: { retryBaseDelay: 10ms, retryMaxDelay: 50ms }
  tenants:
    - id: ${TENANT}
      auth: { kind: clientSecret, clientId: ${ROTATOR}, clientSecret: ${ROTATOR_SECRET} }
targets:
  - { name: app-healthy, appId: ${healthy.appId}, tenant: ${TENANT}, connectors: [${healthy.connectors.join(', ')}] }
  - { name: app-foreign, appId: ${foreign.appId}, tenant: ${TENANT}, connectors: [${foreign.connector}] }
  - { name: app-orphan, appId: ${orphan.appId}, tenant: ${TENANT}, connectors: [${orphan.connector}] }
rotation:
  gracePeriod: 0s
  keepPrevious: 0
  batchWindow: 100ms
  verifyAttempts: 3
  verifyDelay: 100ms
  # Yearly, so no sweep queues anything behind the test's back.
  schedule: '0 0 1 1 *'
worker: { backoffBase: 100ms, backoffMax: 1s }
redis:
  url: ${inject('redisUrl')}
  keyPrefix: '{queue-${randomUUID().slice(0, 8)}}'
logging:
  level: warn
`,
  );
  worker = await startWorker(loadConfig({ path: configFile, env: {} }), createLogger({ level: 'silent' }), {
    http: false,
  });
}, 30_000);

afterAll(async () => {
  await worker?.stop();
  await entra.close();
  await qualys.close();
});

describe('rotator enqueue, status and dlq against a running worker', () => {
  it('refuses a selection that is missing, ambiguous or names nothing configured (exit 2)', async () => {
    const [none, both, unknown, unknownConnector] = await Promise.all([
      rotator(['enqueue']),
      rotator(['enqueue', '--all', '--app', 'app-healthy']),
      rotator(['enqueue', '--app', 'no-such-app']),
      rotator(['enqueue', '--connector', foreign.connector, randomUUID()]),
    ]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain(
      'say which targets to queue: --app <id...>, --connector <uuid...> or --all',
    );
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give only one of --app, --connector and --all');
    expect(unknown.code, unknown.stderr).toBe(2);
    expect(unknown.stderr).toContain('no configured target has the app no-such-app');
    expect(unknownConnector.code, unknownConnector.stderr).toBe(2);
    expect(unknownConnector.stderr).toMatch(/no configured target lists the connector [0-9a-f-]{36}\n/);
  });

  it('enqueue --app --wait rotates the app: every connector holds a secret Entra accepts', async () => {
    const run = await rotator(['enqueue', '--app', 'app-healthy', '--wait', '--timeout', '20s']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain(`app-healthy (${healthy.appId}): queued`);
    expect(run.stdout).toMatch(/app-healthy \(.*\): rotated: key \S+; connectors verified 2, failed 0/);
    expectAcceptedEverywhere(healthy.appId, healthy.connectors);
    expect(qualys.storedSecret(healthy.connectors[0]!, healthy.appId)).not.toBe(healthy.seededSecret);
  });

  it('status shows the rotation, as JSON and as a table', async () => {
    const [asJson, asTable] = await Promise.all([rotator(['status', '--json']), rotator(['status'])]);
    expect(asJson.code, asJson.stderr).toBe(0);
    const { targets } = json(asJson) as { targets: TargetStatus[] };
    expect(targets.map((target) => target.name)).toEqual(['app-healthy', 'app-foreign', 'app-orphan']);
    const status = targets[0]!;
    expect(status).toMatchObject({
      appId: healthy.appId,
      tenant: { id: TENANT },
      adopted: true,
      lastResult: { outcome: 'rotated' },
      job: { state: 'none' },
      deadLetters: 0,
    });
    expect(status.currentKeyId).toBeDefined();
    expect(Date.parse(status.nextDueAt ?? '')).toBeGreaterThan(Date.now());
    for (const connector of status.connectors) {
      expect(connector.keyId).toBe(status.currentKeyId);
      expect(connector.verifiedAt).toBeDefined();
    }
    expect(targets[1]).toMatchObject({ adopted: false, job: { state: 'none' } });

    expect(asTable.code).toBe(0);
    expect(asTable.stdout).toMatch(
      /^TARGET\s+APP ID\s+LAST RESULT\s+CURRENT KEY\s+EXPIRES\s+NEXT DUE\s+JOB\s+DLQ$/m,
    );
    expect(asTable.stdout).toMatch(new RegExp(`^app-healthy\\s+${healthy.appId}\\s+rotated `, 'm'));
    expect(asTable.stdout).toContain(
      `    connector ${healthy.connectors[0]!}: key ${status.currentKeyId!}, verified`,
    );
    expect(asTable.stdout).toMatch(new RegExp(`^app-orphan\\s+${orphan.appId}\\s+never run`, 'm'));
  });

  it('enqueue --all --dry-run prints the plans and queues nothing', async () => {
    const keysBefore = entra.passwords(orphan.appId).length;
    const [run, byConnector] = await Promise.all([
      rotator(['enqueue', '--all', '--dry-run']),
      rotator(['enqueue', '--connector', healthy.connectors[1]!, '--dry-run', '--json']),
    ]);
    // The foreign app cannot even be read, so the dry run reports a failure.
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toMatch(/app-healthy \(.*\): not due until /);
    expect(run.stdout).toMatch(/app-foreign \(.*\): cannot plan: ROT_ERR_GRAPH_PERMISSION: /);
    expect(run.stdout).toMatch(
      /app-orphan \(.*\): would rotate \(.*\): new key until \S+, update 0, register 1/,
    );
    expect(run.stdout).toContain('dry run: nothing was queued');
    expect(byConnector.code, byConnector.stderr).toBe(0);
    expect(json(byConnector)).toMatchObject({
      dryRun: true,
      plans: [{ appId: healthy.appId, name: 'app-healthy', plan: { due: false } }],
    });
    for (const appId of [healthy.appId, foreign.appId, orphan.appId])
      expect(await worker!.queues.rotation.getJob(rotateJobId(appId))).toBeUndefined();
    expect(entra.passwords(orphan.appId)).toHaveLength(keysBefore);
  });

  it('targets that fail for good land in the DLQ with their code and step', async () => {
    const run = await rotator([
      'enqueue',
      '--app',
      'app-foreign',
      'app-orphan',
      '--wait',
      '--timeout',
      '20s',
    ]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toMatch(/app-foreign \(.*\): FAILED: .*403/);
    expect(run.stdout).toMatch(/app-orphan \(.*\): failed: .*1 dead letter\(s\)/);

    const [list, byCode] = await Promise.all([
      rotator(['dlq', 'list', '--json']),
      rotator(['dlq', 'list', '--code', 'ROT_ERR_GRAPH_PERMISSION']),
    ]);
    expect(list.code, list.stderr).toBe(0);
    const { items } = json(list) as { items: DeadLetterItem[] };
    expect(items).toHaveLength(2);
    expect(items.find((item) => item.appId === foreign.appId)).toMatchObject({
      id: `dl-${foreign.appId}-all`,
      targetName: 'app-foreign',
      errorCode: 'ROT_ERR_GRAPH_PERMISSION',
      step: 'plan',
      connectors: [foreign.connector],
    });
    expect(items.find((item) => item.appId === orphan.appId)).toMatchObject({
      id: `dl-${orphan.appId}-${orphan.connector}`,
      targetName: 'app-orphan',
      step: 'push',
      connectors: [orphan.connector],
    });
    expect(byCode.code).toBe(0);
    expect(byCode.stdout).toMatch(
      new RegExp(
        `^dl-${foreign.appId}-all {2}app-foreign \\(${foreign.appId}\\) {2}step plan {2}ROT_ERR_GRAPH_PERMISSION`,
      ),
    );
    expect(byCode.stdout).not.toContain(orphan.appId);

    const status = json(await rotator(['status', '--app', 'app-orphan', '--json'])) as {
      targets: TargetStatus[];
    };
    expect(status.targets).toHaveLength(1);
    expect(status.targets[0]).toMatchObject({
      deadLetters: 1,
      lastResult: { outcome: 'failed', step: 'push' },
    });
  });

  it('dlq show prints one item, and exits 1 for an id that does not exist', async () => {
    const id = `dl-${orphan.appId}-${orphan.connector}`;
    const [shown, asText, missing] = await Promise.all([
      rotator(['dlq', 'show', id, '--json']),
      rotator(['dlq', 'show', id]),
      rotator(['dlq', 'show', 'dl-nothing-here']),
    ]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(json(shown) as DeadLetterItem).toMatchObject({
      id,
      appId: orphan.appId,
      step: 'push',
      attempts: 1,
    });
    expect(asText.stdout).toMatch(/^step: +push$/m);
    expect(asText.stdout).toContain(`connectors:    ${orphan.connector}`);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no dead letter has the id dl-nothing-here');
  });

  it('once the cause is fixed, dlq replay --app rotates the app and empties its DLQ', async () => {
    qualys.addConnector(orphan.connector);
    const run = await rotator(['dlq', 'replay', '--app', 'app-orphan', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(json(run) as ReplayResult).toEqual({
      replayed: [
        {
          appId: orphan.appId,
          name: 'app-orphan',
          state: 'queued',
          items: [`dl-${orphan.appId}-${orphan.connector}`],
        },
      ],
      left: [],
      notFound: [],
    });
    await expect
      .poll(async () => (await worker!.runtime.ledger.read(orphan.appId))?.lastResult?.outcome, {
        timeout: 15_000,
        interval: 100,
      })
      .toBe('rotated');
    expectAcceptedEverywhere(orphan.appId, [orphan.connector]);
    const list = await rotator(['dlq', 'list', '--json']);
    expect((json(list) as { items: DeadLetterItem[] }).items.map((item) => item.appId)).toEqual([
      foreign.appId,
    ]);
  });

  it('dlq purge --all empties the DLQ', async () => {
    const purge = await rotator(['dlq', 'purge', '--all', '--json']);
    expect(purge.code, purge.stderr).toBe(0);
    expect(JSON.parse(purge.stdout)).toEqual({ removed: [`dl-${foreign.appId}-all`], notFound: [] });
    const list = await rotator(['dlq', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout.trim()).toBe('the dead-letter queue is empty');
  });

  it('with no worker on the queue, --wait warns and times out (exit 1), leaving the job queued', async () => {
    // The same estate under another key prefix: a queue no worker serves.
    const lonely = join(dirname(configFile), 'no-worker.yaml');
    writeFileSync(
      lonely,
      readFileSync(configFile, 'utf8').replace(/keyPrefix: '\{queue-/, "keyPrefix: '{lonely-"),
    );
    const run = await rotator(['enqueue', '--app', 'app-healthy', '--wait', '--timeout', '1s'], lonely);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stderr).toContain('no worker is connected to the queue');
    expect(run.stdout).toMatch(
      /app-healthy \(.*\): TIMED OUT: still waiting after 1000 ms; 0 attempt\(s\) made/,
    );
    const status = json(await rotator(['status', '--app', 'app-healthy', '--json'], lonely)) as {
      targets: TargetStatus[];
    };
    expect(status.targets[0]?.job).toEqual({
      state: 'waiting',
      forced: false,
      origin: 'operator',
      attemptsMade: 0,
    });
  });

  it('wrote no secret, password or token into any output', () => {
    expectNoSecrets({ outputs }, [
      ROTATOR_SECRET,
      QUALYS_PASSWORD,
      ...entra.issuedSecrets(),
      ...entra.issuedTokens(),
      ...qualys.issuedTokens(),
      ...qualys.receivedSecrets(),
    ]);
  });
});
