import { runRotator, type RotatorRun } from '../support/rotator-process.ts';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { EntraGraphSimulator } from '../../src/sim/entra/entra-graph-simulator.ts';
import { QualysSimulator } from '../../src/sim/qualys/qualys-simulator.ts';
import { freePort } from '../support/redis-server.ts';

/** `rotator rotate --dry-run` and `rotator prune` as an operator runs them, against the simulators. */

const TENANT = randomUUID();
const ROTATOR = randomUUID();
const ROTATOR_SECRET = `rotator-${randomUUID()}`;
let entra: EntraGraphSimulator;
let qualys: QualysSimulator;
let dir: string;
let appId: string;
let configured: string;
let stray: string;
const foreignApp = randomUUID();

function run(args: string[], config = join(dir, 'rotator.yaml')): Promise<RotatorRun> {
  return runRotator([...args, '--config', config]);
}

function writeConfig(file: string, redisUrl: string): string {
  const path = join(dir, file);
  writeFileSync(
    path,
    `qualys: { gatewayUrl: ${qualys.url}, username: ${qualys.username}, password: ${qualys.password} }
azure:
  cloud: custom
  authorityHost: ${entra.authorityHost}
  graphEndpoint: ${entra.graphEndpoint}
  tenants: [{ id: ${TENANT}, auth: { kind: clientSecret, clientId: ${ROTATOR}, clientSecret: ${ROTATOR_SECRET} } }]
targets:
  - { name: scanner, appId: ${appId}, tenant: ${TENANT}, connectors: [${configured}] }
redis: { url: ${redisUrl}, keyPrefix: '{cli-${randomUUID().slice(0, 8)}}' }
`,
  );
  return path;
}

beforeAll(async () => {
  entra = await EntraGraphSimulator.start({ tls: { cert: inject('tlsCert'), key: inject('tlsKey') } });
  entra.addClient({ tenantId: TENANT, clientId: ROTATOR, secret: ROTATOR_SECRET });
  qualys = await QualysSimulator.start({
    validateCredential: (app, secret) => entra.acceptsSecret(app, secret),
  });
  const app = entra.addApp({ tenantId: TENANT, owners: [ROTATOR] });
  appId = app.appId;
  const seeded = entra.seedPassword(appId, {
    startDateTime: new Date(Date.now() - 40 * 86_400_000).toISOString(),
  });
  configured = randomUUID();
  stray = randomUUID();
  qualys.seedMapping(configured, appId, seeded.secretText);
  qualys.seedMapping(stray, appId, seeded.secretText);
  qualys.seedMapping(stray, foreignApp, 'not ours');
  dir = mkdtempSync(join(tmpdir(), 'rotator-cli-'));
  writeConfig('rotator.yaml', inject('redisUrl'));
});

afterAll(async () => {
  await entra.close();
  await qualys.close();
});

describe('rotator rotate --dry-run and rotator prune', () => {
  it('shows the plan, with the drift that blocks retirement, and changes nothing', async () => {
    const keysBefore = entra.passwords(appId).length;
    const result = await run(['rotate', '--dry-run']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /scanner .*: would rotate \(the key is older than the rotation interval\): new key until \S+, update 1, register 0/,
    );
    expect(result.stdout).toContain(
      `retirement blocked: connectors not in the configuration use this app: ${stray}`,
    );
    expect(entra.passwords(appId)).toHaveLength(keysBefore);
    expect(qualys.callCount('update') + qualys.callCount('register')).toBe(0);
  });

  it('prunes only pairs of managed apps, after a dry run that removes nothing', async () => {
    const dry = await run(['prune', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`would remove 1 pair(s):\n  ${stray} / ${appId}`);
    expect(dry.stdout).toContain('left alone: 1 pair(s) of apps the rotator does not manage');
    expect(qualys.liveMappings().get(stray)).toContain(appId);

    const real = await run(['prune', '--json']);
    expect(real.code).toBe(0);
    expect(JSON.parse(real.stdout)).toMatchObject({ dryRun: false, removed: 1, failed: 0 });
    expect(qualys.liveMappings().get(stray)).toEqual([foreignApp]);
    expect(qualys.liveMappings().get(configured)).toEqual([appId]);
  });

  it('fails fast, with a clear error, when Redis is not reachable', async () => {
    const config = writeConfig('no-redis.yaml', `redis://127.0.0.1:${await freePort()}`);
    const started = Date.now();
    const result = await run(['rotate', '--dry-run'], config);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/rotator: .*(ECONNREFUSED|connect|Redis)/i);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
