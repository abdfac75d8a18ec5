import { randomBytes, randomUUID } from 'node:crypto';
import { EntraGraphSimulator } from '../src/sim/entra/entra-graph-simulator.ts';
import { QualysSimulator } from '../src/sim/qualys/qualys-simulator.ts';

/**
 * A benchmark estate: `targets` secondary apps spread over a few tenants, each with a 40-day-old key
 * (so every one is due) that its Qualys connectors hold. Connectors are shared as in real estates: each
 * connector uses a handful of secondary apps, and every fourth app serves two connectors.
 */

export interface BenchTarget {
  readonly appId: string;
  readonly objectId: string;
  readonly tenantId: string;
  readonly connectors: readonly string[];
}

export interface BenchTenant {
  readonly id: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

export interface BenchEstate {
  readonly entra: EntraGraphSimulator;
  readonly qualys: QualysSimulator;
  readonly tenants: readonly BenchTenant[];
  readonly targets: readonly BenchTarget[];
  close(): Promise<void>;
}

export interface EstateOptions {
  readonly tls: { readonly cert: string; readonly key: string };
  readonly targets: number;
  readonly tenants: number;
  readonly latencyMs: number;
  readonly propagationMs: number;
  readonly qualysLimit: number;
  readonly qualysWindowMs: number;
}

const DAY_MS = 86_400_000;
const APPS_PER_CONNECTOR = 4;

export async function startBenchEstate(options: EstateOptions): Promise<BenchEstate> {
  const entra = await EntraGraphSimulator.start({
    tls: options.tls,
    propagationDelayMs: options.propagationMs,
    // Real estates page through thousands of apps; the rotator reads each app by id, so no effect here.
    pageSize: 100,
  });
  const qualys = await QualysSimulator.start({
    tls: options.tls,
    rateLimit: { limit: options.qualysLimit, windowMs: options.qualysWindowMs },
    validateCredential: (appId, secret) => entra.acceptsSecret(appId, secret),
  });
  entra.setFaults({ latencyMs: options.latencyMs });
  qualys.setFaults({ latencyMs: options.latencyMs });
  const tenants: BenchTenant[] = Array.from({ length: options.tenants }, () => ({
    id: randomUUID(),
    clientId: randomUUID(),
    clientSecret: randomBytes(24).toString('base64url'),
  }));
  for (const tenant of tenants) {
    entra.addClient({ tenantId: tenant.id, clientId: tenant.clientId, secret: tenant.clientSecret });
  }
  const pool = Array.from({ length: Math.max(1, Math.ceil(options.targets / APPS_PER_CONNECTOR)) }, () =>
    randomUUID(),
  );
  const targets: BenchTarget[] = [];
  const createdAt = new Date(Date.now() - 40 * DAY_MS).toISOString();
  for (let index = 0; index < options.targets; index += 1) {
    const tenant = tenants[index % tenants.length] ?? tenants[0];
    if (tenant === undefined) throw new RangeError('the estate needs at least one tenant');
    const app = entra.addApp({
      tenantId: tenant.id,
      owners: [tenant.clientId],
      displayName: `bench-${index}`,
    });
    const seeded = entra.seedPassword(app.appId, { displayName: 'set up by hand', startDateTime: createdAt });
    const first = pool[Math.floor(index / APPS_PER_CONNECTOR) % pool.length] ?? '';
    const connectors =
      index % 4 === 0 && pool.length > 1 ? [first, pool[(index + 1) % pool.length] ?? ''] : [first];
    const distinct = [...new Set(connectors)];
    for (const connector of distinct) qualys.seedMapping(connector, app.appId, seeded.secretText);
    targets.push({ appId: app.appId, objectId: app.objectId, tenantId: tenant.id, connectors: distinct });
  }
  return {
    entra,
    qualys,
    tenants,
    targets,
    async close() {
      await Promise.all([entra.close(), qualys.close()]);
    },
  };
}
