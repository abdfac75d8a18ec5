import { runRotator, type RotatorRun } from '../support/rotator-process.ts';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { EntraGraphSimulator } from '../../src/sim/entra/entra-graph-simulator.ts';
import { QualysSimulator } from '../../src/sim/qualys/qualys-simulator.ts';
import { expectNoSecrets } from '../support/leak-scan.ts';

/**
 * Whole rotations by the real `rotator rotate` process against the simulators and a real Redis, killed
 * with SIGKILL at every checkpoint and started again: the end state must be the one a run that never
 * crashed reaches (every connector holds a secret Entra accepts, no managed key left over).
 */

const TENANT = randomUUID();
const ROTATOR = randomUUID();
const ROTATOR_SECRET = `rotator-${randomUUID()}`;
const QUALYS_PASSWORD = `qualys-${randomUUID()}`;

let entra: EntraGraphSimulator;
let qualys: QualysSimulator;
let configFile: string;
let keyPrefix: string;
const apps: { appId: string; connectors: string[] }[] = [];
const outputs: string[] = [];

type Run = RotatorRun;

async function rotate(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const run = await runRotator(['rotate', '--config', configFile, ...args], env);
  outputs.push(run.stdout, run.stderr);
  return run;
}

function managedKeys(appId: string) {
  return entra.passwords(appId).filter((password) => password.displayName?.startsWith('rotator r-'));
}

beforeAll(async () => {
  entra = await EntraGraphSimulator.start({
    tls: { cert: inject('tlsCert'), key: inject('tlsKey') },
    propagationDelayMs: 150,
  });
  entra.addClient({ tenantId: TENANT, clientId: ROTATOR, secret: ROTATOR_SECRET });
  qualys = await QualysSimulator.start({
    password: QUALYS_PASSWORD,
    rateLimit: { limit: 100_000, windowMs: 3_600_000 },
    concurrencyLimit: 50,
    validateCredential: (appId, secret) => entra.acceptsSecret(appId, secret),
  });
  // Three apps: two connectors registered by hand; one registered plus one to onboard; one alone.
  for (const [registered, unregistered] of [
    [2, 0],
    [1, 1],
    [1, 0],
  ] as const) {
    const app = entra.addApp({ tenantId: TENANT, owners: [ROTATOR] });
    const seeded = entra.seedPassword(app.appId, {
      displayName: 'set up by hand',
      startDateTime: new Date(Date.now() - 40 * 86_400_000).toISOString(),
    });
    const connectors = Array.from({ length: registered + unregistered }, () => randomUUID());
    connectors.forEach((connector, index) => {
      qualys.addConnector(connector);
      if (index < registered) qualys.seedMapping(connector, app.appId, seeded.secretText);
    });
    apps.push({ appId: app.appId, connectors });
  }
  keyPrefix = `{crash-${randomUUID().slice(0, 8)}}`;
  const dir = mkdtempSync(join(tmpdir(), 'rotator-crash-'));
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
${apps.map((app, index) => `  - name: app-${index}\n    appId: ${app.appId}\n    tenant: ${TENANT}\n    connectors: [${app.connectors.join(', ')}]`).join('\n')}
rotation:
  gracePeriod: 0s
  keepPrevious: 0
  batchWindow: 100ms
  verifyAttempts: 3
  verifyDelay: 100ms
  lockTtl: 1s
redis:
  url: ${inject('redisUrl')}
  keyPrefix: '${keyPrefix}'
logging:
  level: debug
`,
  );
}, 30_000);

afterAll(async () => {
  await entra.close();
  await qualys.close();
});

async function expectConsistentEstate(): Promise<void> {
  for (const app of apps) {
    for (const connector of app.connectors) {
      const secret = qualys.storedSecret(connector, app.appId);
      expect(secret, `connector ${connector} of app ${app.appId} holds a secret`).toBeDefined();
      expect(
        entra.acceptsSecret(app.appId, secret!),
        `connector ${connector} holds a secret Entra accepts`,
      ).toBe(true);
    }
    // Grace 0 and keepPrevious 0: exactly the current managed key remains, nothing orphaned.
    expect(managedKeys(app.appId), `managed keys of app ${app.appId}`).toHaveLength(1);
  }
  const redis = new Redis(inject('redisUrl'));
  try {
    const keys = await redis.keys(`${keyPrefix}*`);
    const values = await Promise.all(
      keys.map(async (key) => {
        const type = await redis.type(key);
        if (type === 'string') return (await redis.get(key)) ?? '';
        if (type === 'list') return (await redis.lrange(key, 0, -1)).join('\n');
        if (type === 'set') return (await redis.smembers(key)).join('\n');
        if (type === 'hash') return JSON.stringify(await redis.hgetall(key));
        return '';
      }),
    );
    expect(values.some((value) => value.includes('"inFlight"'))).toBe(false);
    outputs.push(...keys, ...values);
  } finally {
    redis.disconnect();
  }
}

describe('rotator rotate, killed at each checkpoint and restarted', () => {
  it('rotates the whole estate (onboarding one connector) when nothing crashes', async () => {
    const run = await rotate([]);
    expect(run.stderr).not.toMatch(/"level":"(error|fatal)"/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/app-0 .*: rotated/);
    expect(qualys.storedSecret(apps[1]!.connectors[1]!, apps[1]!.appId)).toBeDefined();
    await expectConsistentEstate();
  });

  it.each(['intent', 'add-returned', 'created', 'ready', 'push-intent', 'pushed', 'verified', 'retired'])(
    'SIGKILL after %s, then a restart: consistent, with no orphan key',
    async (point) => {
      const crashed = await rotate(['--force'], {
        ROTATOR_TEST_HOOKS: '1',
        ROTATOR_TEST_CRASH_AT: point,
        ROTATOR_TEST_CRASH_APP: apps[0]!.appId,
      });
      expect(crashed.signal, crashed.stdout + crashed.stderr.slice(-2_000)).toBe('SIGKILL');
      // The killed process never released its lock: the restart finds it free once its TTL passes.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const restarted = await rotate([]);
      expect(restarted.code, restarted.stdout + restarted.stderr.slice(-2_000)).toBe(0);
      await expectConsistentEstate();
    },
    30_000,
  );

  it('wrote no secret, password or token into any output or Redis value', () => {
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
