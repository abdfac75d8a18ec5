import { formatDurationMs } from './duration.ts';
import type { ConfigProblem } from './config-error.ts';
import type { RawConfig } from './schema.ts';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127\.\d+\.\d+\.\d+$/.test(hostname) || hostname.endsWith('.localhost');
}

function requireHttps(path: string, value: string | undefined, problems: ConfigProblem[]): void {
  if (value === undefined) return;
  const parsed = new URL(value);
  if (parsed.protocol === 'https:') return;
  if (parsed.protocol === 'http:' && isLoopbackHost(parsed.hostname)) return;
  problems.push({
    path,
    message: `must use https (plain http is accepted only for loopback hosts such as localhost); got scheme ${parsed.protocol.replace(':', '')}`,
  });
}

/** Checks that need more than one field at a time. Runs only on input that passed the schema. */
export function crossCheck(config: RawConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const { rotation, azure, qualys, redis } = config;

  if (rotation.secretLifetime <= rotation.interval + rotation.rotateBeforeExpiry) {
    problems.push({
      path: 'rotation.secretLifetime',
      message: `must be longer than rotation.interval + rotation.rotateBeforeExpiry (${formatDurationMs(rotation.interval)} + ${formatDurationMs(rotation.rotateBeforeExpiry)} = ${formatDurationMs(rotation.interval + rotation.rotateBeforeExpiry)}), otherwise a secret expires before its rotation is due; got ${formatDurationMs(rotation.secretLifetime)}`,
    });
  }

  requireHttps('qualys.gatewayUrl', qualys.gatewayUrl, problems);
  if (azure.cloud === 'custom') {
    for (const key of ['authorityHost', 'graphEndpoint'] as const) {
      if (azure[key] === undefined) {
        problems.push({ path: `azure.${key}`, message: 'is required when azure.cloud is custom' });
      }
    }
  } else {
    for (const key of ['authorityHost', 'graphEndpoint'] as const) {
      if (azure[key] !== undefined) {
        problems.push({
          path: `azure.${key}`,
          message: `is set by azure.cloud (${azure.cloud}); remove it, or set azure.cloud: custom to use your own endpoints`,
        });
      }
    }
  }
  requireHttps('azure.authorityHost', azure.authorityHost, problems);
  requireHttps('azure.graphEndpoint', azure.graphEndpoint, problems);

  const tenantKeys = new Map<string, number>();
  azure.tenants.forEach((tenant, index) => {
    for (const key of [tenant.id, tenant.name?.toLowerCase()]) {
      if (key === undefined) continue;
      const first = tenantKeys.get(key);
      if (first !== undefined && first !== index) {
        problems.push({
          path: `azure.tenants[${index}]`,
          message: `duplicates azure.tenants[${first}] (same id or name); configure each tenant once`,
        });
      }
      tenantKeys.set(key, index);
    }
  });

  const targetByApp = new Map<string, number>();
  config.targets.forEach((target, index) => {
    if (!tenantKeys.has(target.tenant.toLowerCase())) {
      problems.push({
        path: `targets[${index}].tenant`,
        message: 'names no tenant in azure.tenants: use the id or the name of a configured tenant',
      });
    }
    const first = targetByApp.get(target.appId);
    if (first !== undefined) {
      problems.push({
        path: `targets[${index}].appId`,
        message: `duplicates targets[${first}]: list each app once, with all its connectors`,
      });
    } else {
      targetByApp.set(target.appId, index);
    }
    const seen = new Set<string>();
    target.connectors.forEach((connector, connectorIndex) => {
      if (seen.has(connector)) {
        problems.push({
          path: `targets[${index}].connectors[${connectorIndex}]`,
          message: 'is listed twice for this target',
        });
      }
      seen.add(connector);
    });
  });

  const redisUrl = new URL(redis.url);
  if (redisUrl.protocol !== 'redis:' && redisUrl.protocol !== 'rediss:') {
    problems.push({ path: 'redis.url', message: 'expected a redis:// or rediss:// URL' });
  }
  if (redis.sentinel !== undefined && redis.cluster !== undefined) {
    problems.push({ path: 'redis', message: 'set either redis.sentinel or redis.cluster, not both' });
  }
  if (redis.cluster !== undefined && !/\{[^{}]+\}/.test(redis.keyPrefix)) {
    problems.push({
      path: 'redis.keyPrefix',
      message: 'must contain a hash tag such as {rotator} when redis.cluster is set, so every key lands in one slot',
    });
  }
  if (redis.keyPrefix.includes(':')) {
    problems.push({ path: 'redis.keyPrefix', message: 'must not contain ":" (BullMQ adds its own separators)' });
  }
  return problems;
}
