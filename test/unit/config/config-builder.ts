import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';

/**
 * A valid configuration as a plain object, for tests to change one thing in and write out as YAML.
 * Loose on purpose: a test must be able to put any value, or any unknown key, anywhere.
 */
export interface ConfigDocument {
  qualys: Record<string, unknown>;
  azure: { tenants: Record<string, unknown>[]; [key: string]: unknown };
  targets: Record<string, unknown>[];
  [key: string]: unknown;
}

export const BASE_PASSWORD = 'S3cr3t-base-password-unique';
export const TENANT_ID = '11111111-1111-4111-8111-111111111111';
export const APP_ID = '22222222-2222-4222-8222-222222222222';
export const CONNECTOR_1 = '33333333-3333-4333-8333-333333333333';
export const CONNECTOR_2 = '44444444-4444-4444-8444-444444444444';
export const CLIENT_ID = '55555555-5555-4555-8555-555555555555';

/** A fresh copy of the smallest valid configuration: one tenant, one target with two connectors. */
export function baseConfig(): ConfigDocument {
  return {
    qualys: {
      gatewayUrl: 'https://gateway.qg1.apps.qualys.com',
      username: 'svc-rotator',
      password: BASE_PASSWORD,
    },
    azure: {
      tenants: [{ id: TENANT_ID, name: 'contoso', auth: { kind: 'workloadIdentity' } }],
    },
    targets: [{ name: 'scan-1', appId: APP_ID, tenant: 'contoso', connectors: [CONNECTOR_1, CONNECTOR_2] }],
  };
}

export function firstTenant(config: ConfigDocument): Record<string, unknown> {
  return config.azure.tenants[0]!;
}

export function firstTarget(config: ConfigDocument): Record<string, unknown> {
  return config.targets[0]!;
}

/** `baseConfig()` changed by `mutate`, as YAML text. */
export function configYaml(mutate: (config: ConfigDocument) => void = () => undefined): string {
  const config = baseConfig();
  mutate(config);
  return stringify(config);
}

/** Writes `files` (relative name → content) under `dir`, creating folders, and returns `dir`. */
export function writeFiles(dir: string, files: Readonly<Record<string, string>>): string {
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, content);
  }
  return dir;
}
