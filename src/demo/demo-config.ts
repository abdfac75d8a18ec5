import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '../config/load.ts';
import type { RotatorConfig } from '../config/types.ts';
import type { DemoEstate } from './estate.ts';

/**
 * The configuration an operator would write for the sample estate, with every wait shortened so the
 * demo takes seconds. It goes through a YAML file and `loadConfig` so the demo exercises the same
 * validation as a real deployment.
 */
export async function writeDemoConfig(
  estate: DemoEstate,
  options: {
    dir: string;
    redisUrl: string;
    logLevel: string;
    httpPort: number;
    adminTokenFile?: string | undefined;
  },
): Promise<{ config: RotatorConfig; file: string }> {
  const document = {
    qualys: {
      gatewayUrl: estate.qualys.url,
      username: estate.qualys.username,
      password: estate.qualys.password,
      http: { retryBaseDelay: '50ms', retryMaxDelay: '200ms' },
    },
    azure: {
      cloud: 'custom',
      authorityHost: estate.entra.authorityHost,
      graphEndpoint: estate.entra.graphEndpoint,
      readinessPollInterval: '100ms',
      readinessTimeout: '30s',
      graph: { retryBaseDelay: '50ms', retryMaxDelay: '200ms' },
      tenants: estate.tenants.map((tenant) => ({
        id: tenant.id,
        auth: { kind: 'clientSecret', clientId: tenant.clientId, clientSecret: tenant.clientSecret },
      })),
    },
    targets: estate.targets.map((target) => ({
      name: target.name,
      appId: target.appId,
      objectId: target.objectId,
      tenant: target.tenantId,
      connectors: [...target.connectors],
    })),
    // The old keys were made by hand (unmanaged); with no grace period the summary shows them retired.
    rotation: {
      gracePeriod: '0s',
      keepPrevious: 0,
      retireUnmanagedKeys: true,
      batchWindow: '200ms',
      verifyDelay: '200ms',
      lockTtl: '3s',
    },
    worker: {
      concurrency: 16,
      attempts: 2,
      backoffBase: '100ms',
      backoffMax: '200ms',
      shutdownTimeout: '5s',
    },
    http: {
      host: '127.0.0.1',
      port: options.httpPort,
      ...(options.adminTokenFile === undefined ? {} : { adminTokenFile: options.adminTokenFile }),
    },
    // A prefix of its own, so a shared REDIS_URL keeps the demo apart from anything else there.
    redis: { url: options.redisUrl, keyPrefix: `{rotator-demo-${randomUUID().slice(0, 8)}}` },
    logging: { level: options.logLevel },
  };
  const file = join(options.dir, 'rotator-demo.yaml');
  // The file holds the simulators' passwords: readable by this user only.
  await writeFile(file, stringify(document), { mode: 0o600 });
  // No environment overrides: the operator's ROTATOR_* variables must not bend the demo.
  return { config: loadConfig({ path: file, env: {} }), file };
}
