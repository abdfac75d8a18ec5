import { randomBytes, randomUUID } from 'node:crypto';
import { EntraGraphSimulator } from '../sim/entra/entra-graph-simulator.ts';
import { QualysSimulator } from '../sim/qualys/qualys-simulator.ts';

/** One target of the sample estate, as the demo configures it and reports on it. */
export interface DemoTarget {
  readonly name: string;
  readonly appId: string;
  readonly objectId: string;
  readonly tenantId: string;
  readonly connectors: readonly string[];
  /** The unmanaged key set up "by hand" 40 days ago, which the rotation replaces. */
  readonly oldKeyId: string;
}

export interface DemoTenant {
  readonly id: string;
  readonly name: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

export interface DemoEstate {
  readonly entra: EntraGraphSimulator;
  readonly qualys: QualysSimulator;
  readonly tenants: readonly DemoTenant[];
  readonly targets: readonly DemoTarget[];
  /** A connector Qualys does not know: every push to it fails, so it must end in the DLQ. */
  readonly failingConnector: string;
  /** A connector Qualys knows but no app is registered to yet: the rotator registers it. */
  readonly onboardedConnector: string;
  close(): Promise<void>;
}

const DAY_MS = 86_400_000;
const TENANT_NAMES = ['contoso', 'fabrikam'] as const;
const APPS_PER_TENANT = 6;
const CONNECTORS_PER_TENANT = 4;
/** New secrets reach the simulated Entra after this long, like a (very fast) real propagation. */
const PROPAGATION_MS = 1_000;

/** Which pool connectors app `index` is registered to: overlapping, so connectors share apps. */
function connectorsOfApp(pool: readonly string[], index: number): string[] {
  const count = 1 + (index % 3);
  return Array.from({ length: count }, (_, offset) => pool[(index + offset) % pool.length] ?? '');
}

export async function startDemoEstate(tls: { cert: string; key: string }): Promise<DemoEstate> {
  const entra = await EntraGraphSimulator.start({ tls, propagationDelayMs: PROPAGATION_MS });
  let qualys: QualysSimulator;
  try {
    qualys = await QualysSimulator.start({
      tls,
      // Generous limits: the demo shows rotations, not throttling.
      rateLimit: { limit: 100_000, windowMs: 3_600_000 },
      concurrencyLimit: 32,
      validateCredential: (appId, secret) => entra.acceptsSecret(appId, secret),
    });
  } catch (error) {
    await entra.close();
    throw error;
  }
  const tenants: DemoTenant[] = [];
  const targets: DemoTarget[] = [];
  for (const tenantName of TENANT_NAMES) {
    const tenant: DemoTenant = {
      id: randomUUID(),
      name: tenantName,
      clientId: randomUUID(),
      clientSecret: randomBytes(24).toString('base64url'),
    };
    tenants.push(tenant);
    entra.addClient({ tenantId: tenant.id, clientId: tenant.clientId, secret: tenant.clientSecret });
    const pool = Array.from({ length: CONNECTORS_PER_TENANT }, () => randomUUID());
    for (let index = 0; index < APPS_PER_TENANT; index += 1) {
      const name = `${tenantName}-app-${index + 1}`;
      const app = entra.addApp({ tenantId: tenant.id, owners: [tenant.clientId], displayName: name });
      const seeded = entra.seedPassword(app.appId, {
        displayName: 'set up by hand',
        startDateTime: new Date(Date.now() - 40 * DAY_MS).toISOString(),
      });
      const connectors = connectorsOfApp(pool, index);
      for (const connector of connectors) qualys.seedMapping(connector, app.appId, seeded.secretText);
      targets.push({
        name,
        appId: app.appId,
        objectId: app.objectId,
        tenantId: tenant.id,
        connectors,
        oldKeyId: seeded.keyId,
      });
    }
  }
  const failingConnector = randomUUID();
  const onboardedConnector = randomUUID();
  qualys.addConnector(onboardedConnector);
  // The configuration lists both on existing targets; only the simulators know which is which.
  const withFailing = targets[1];
  const withOnboarded = targets[APPS_PER_TENANT + 2];
  if (withFailing === undefined || withOnboarded === undefined)
    throw new Error('the demo estate is too small');
  targets[1] = { ...withFailing, connectors: [...withFailing.connectors, failingConnector] };
  targets[APPS_PER_TENANT + 2] = {
    ...withOnboarded,
    connectors: [...withOnboarded.connectors, onboardedConnector],
  };
  return {
    entra,
    qualys,
    tenants,
    targets,
    failingConnector,
    onboardedConnector,
    async close() {
      await Promise.all([entra.close(), qualys.close()]);
    },
  };
}
