import { formatDurationMs } from './duration.ts';
import type { ConfigProblem } from './config-error.ts';
import type { RawConfig } from './schema.ts';

/** Checks that need more than one field at a time. Runs only on input that passed the schema. */
export function crossCheck(config: RawConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const { rotation, azure, redis } = config;

  if (rotation.secretLifetime <= rotation.interval + rotation.rotateBeforeExpiry) {
    problems.push({
      path: 'rotation.secretLifetime',
      message: `must be longer than rotation.interval + rotation.rotateBeforeExpiry (${formatDurationMs(rotation.interval)} + ${formatDurationMs(rotation.rotateBeforeExpiry)} = ${formatDurationMs(rotation.interval + rotation.rotateBeforeExpiry)}), otherwise a secret expires before its rotation is due; got ${formatDurationMs(rotation.secretLifetime)}`,
    });
  }

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

  const tenantKeys = new Map<string, number>();
  azure.tenants.forEach((tenant, index) => {
    for (const key of [tenant.id, tenant.name?.toLowerCase()]) {
      if (key === undefined) continue;
      const first = tenantKeys.get(key);
      if (first === undefined) tenantKeys.set(key, index);
      else if (first !== index) {
        problems.push({
          path: `azure.tenants[${index}]`,
          message: `duplicates azure.tenants[${first}] (same id or name); configure each tenant once`,
        });
      }
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
  if (redisUrl.password !== '' && (redis.password !== undefined || redis.passwordFile !== undefined)) {
    problems.push({
      path: 'redis.url',
      message: 'holds a password and redis.password(File) is set too: keep one',
    });
  }
  if (redis.sentinel !== undefined && redis.cluster !== undefined) {
    problems.push({ path: 'redis', message: 'set either redis.sentinel or redis.cluster, not both' });
  }
  if (redis.cluster !== undefined && !/\{[^{}]+\}/.test(redis.keyPrefix)) {
    problems.push({
      path: 'redis.keyPrefix',
      message:
        'must contain a hash tag such as {rotator} when redis.cluster is set, so every key lands in one slot',
    });
  }
  if (redis.keyPrefix.includes(':')) {
    problems.push({
      path: 'redis.keyPrefix',
      message: 'must not contain ":" (BullMQ adds its own separators)',
    });
  }
  return problems;
}
