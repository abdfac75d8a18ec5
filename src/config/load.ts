import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { AZURE_CLOUDS, graphScope } from './clouds.ts';
import { ConfigError, formatPath, type ConfigProblem } from './config-error.ts';
import { crossCheck } from './cross-checks.ts';
import { applyEnvOverrides, type EnvOverride } from './env-overrides.ts';
import { issueToProblems } from './issue-messages.ts';
import { configSchema, type RawConfig, type RawTenant } from './schema.ts';
import { checkReadable, readConfiguredFile, resolveSecret } from './secrets.ts';
import type { RotatorConfig, TenantAuth, TenantConfig } from './types.ts';
import { Secret } from '../util/secret.ts';

/** Thousands of targets fit in a few MiB; the bound keeps `--config /dev/zero` from reading for ever. */
const MAX_CONFIG_FILE_BYTES = 16 * 1024 * 1024;

export interface LoadOptions {
  /** The YAML file; falls back to `ROTATOR_CONFIG`. */
  readonly path?: string | undefined;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Loads, validates and freezes the configuration, or throws one `ConfigError` listing every problem. */
export function loadConfig(options: LoadOptions = {}): RotatorConfig {
  const env = options.env ?? process.env;
  const path = options.path ?? env.ROTATOR_CONFIG;
  if (path === undefined || path === '') {
    throw new ConfigError('(none)', [
      { path: '(file)', message: 'no configuration file: pass --config FILE or set ROTATOR_CONFIG' },
    ]);
  }
  let text: string;
  try {
    text = readConfiguredFile(path, MAX_CONFIG_FILE_BYTES).toString('utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new ConfigError(path, [{ path: '(file)', message: `cannot read ${path} (${code})` }]);
  }
  return parseConfig(text, path, env, dirname(resolve(path)));
}

/** The same as `loadConfig`, from text already in memory. `source` names it in messages. */
export function parseConfig(
  text: string,
  source: string,
  env: Readonly<Record<string, string | undefined>> = {},
  baseDir: string = process.cwd(),
): RotatorConfig {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    // The YAML library's messages quote the offending line, which may hold a secret: keep position and code only.
    throw new ConfigError(
      source,
      document.errors.map((error) => ({
        path: '(yaml)',
        message: `syntax error ${error.code}${error.linePos ? ` at line ${error.linePos[0].line}, column ${error.linePos[0].col}` : ''}`,
      })),
    );
  }
  let root: unknown;
  try {
    root = document.toJS();
  } catch {
    // The YAML library refuses to expand an alias bomb (a few lines that alias each other into
    // millions of nodes) with a ReferenceError, which is no ConfigError. Its message is not repeated.
    throw new ConfigError(source, [
      {
        path: '(yaml)',
        message: 'cannot be read as data: too many aliases (*name) expanding into each other',
      },
    ]);
  }
  if (root !== null && root !== undefined && (typeof root !== 'object' || Array.isArray(root))) {
    throw new ConfigError(source, [
      { path: '(root)', message: 'expected a mapping of sections (qualys, azure, targets, …)' },
    ]);
  }
  const merged = (root ?? {}) as Record<string, unknown>;
  const { overrides, problems: envProblems } = applyEnvOverrides(merged, env);

  // reportInput lets messages tell a missing key from a wrong value; the input itself is never printed.
  const parsed = configSchema.safeParse(merged, { reportInput: true });
  if (!parsed.success) {
    const problems = parsed.error.issues.flatMap(issueToProblems);
    throw new ConfigError(source, [...envProblems, ...withEnvSource(problems, overrides)]);
  }
  const problems: ConfigProblem[] = crossCheck(parsed.data);
  const config = build(parsed.data, baseDir, problems);
  if (problems.length + envProblems.length > 0) {
    throw new ConfigError(source, [...envProblems, ...withEnvSource(problems, overrides)]);
  }
  return deepFreeze(config);
}

/** Says which environment variable set a value, since the operator will not find it in the file. */
function withEnvSource(
  problems: readonly ConfigProblem[],
  overrides: readonly EnvOverride[],
): ConfigProblem[] {
  const within = (inner: string, outer: string) =>
    inner === outer || inner.startsWith(`${outer}.`) || inner.startsWith(`${outer}[`);
  return problems.map((problem) => {
    const override = overrides.find((candidate) => {
      const path = formatPath(candidate.path);
      return within(problem.path, path);
    });
    return override ? { ...problem, message: `${problem.message} (set by ${override.envName})` } : problem;
  });
}

function build(raw: RawConfig, baseDir: string, problems: ConfigProblem[]): RotatorConfig {
  const endpoints =
    raw.azure.cloud === 'custom'
      ? { authorityHost: raw.azure.authorityHost ?? '', graphEndpoint: raw.azure.graphEndpoint ?? '' }
      : AZURE_CLOUDS[raw.azure.cloud];
  const tenants = raw.azure.tenants.map((tenant, index) => buildTenant(tenant, index, baseDir, problems));
  const tenantIdByKey = new Map<string, string>();
  for (const tenant of tenants) {
    tenantIdByKey.set(tenant.id, tenant.id);
    if (tenant.name !== undefined) tenantIdByKey.set(tenant.name.toLowerCase(), tenant.id);
  }
  const { http } = raw.qualys;
  const redis = raw.redis;
  const redisUrl = splitUrlCredentials(redis.url, problems);
  checkReadable(baseDir, 'redis.tls.caFile', redis.tls?.caFile, problems);
  checkReadable(baseDir, 'redis.tls.certFile', redis.tls?.certFile, problems);
  checkReadable(baseDir, 'redis.tls.keyFile', redis.tls?.keyFile, problems);
  return {
    qualys: {
      gatewayUrl: trimTrailingSlashes(raw.qualys.gatewayUrl),
      username: raw.qualys.username,
      password: resolveSecret(
        baseDir,
        raw.qualys,
        'password',
        ['qualys'],
        true,
        problems,
      ) as RotatorConfig['qualys']['password'],
      http: {
        connectTimeoutMs: http.connectTimeout,
        headersTimeoutMs: http.headersTimeout,
        bodyTimeoutMs: http.bodyTimeout,
        maxAttempts: http.maxAttempts,
        retryBaseDelayMs: http.retryBaseDelay,
        retryMaxDelayMs: http.retryMaxDelay,
        maxThrottleWaitMs: http.maxThrottleWait,
        tokenRefreshBeforeExpiryMs: http.tokenRefreshBeforeExpiry,
      },
      callBudget:
        raw.qualys.callBudget === undefined
          ? undefined
          : { calls: raw.qualys.callBudget.calls, windowMs: raw.qualys.callBudget.window },
    },
    azure: {
      cloud: raw.azure.cloud,
      authorityHost: trimTrailingSlashes(endpoints.authorityHost),
      graphEndpoint: trimTrailingSlashes(endpoints.graphEndpoint),
      graphScope: endpoints.graphEndpoint === '' ? '' : graphScope(endpoints.graphEndpoint),
      readinessTimeoutMs: raw.azure.readinessTimeout,
      readinessPollIntervalMs: raw.azure.readinessPollInterval,
      graph: {
        requestTimeoutMs: raw.azure.graph.requestTimeout,
        maxAttempts: raw.azure.graph.maxAttempts,
        retryBaseDelayMs: raw.azure.graph.retryBaseDelay,
        retryMaxDelayMs: raw.azure.graph.retryMaxDelay,
        maxThrottleWaitMs: raw.azure.graph.maxThrottleWait,
      },
      tenants,
    },
    targets: raw.targets.map((target) => ({
      name: target.name ?? target.appId,
      appId: target.appId,
      objectId: target.objectId,
      tenantId: tenantIdByKey.get(target.tenant.toLowerCase()) ?? target.tenant,
      connectors: target.connectors,
    })),
    rotation: {
      intervalMs: raw.rotation.interval,
      rotateBeforeExpiryMs: raw.rotation.rotateBeforeExpiry,
      secretLifetimeMs: raw.rotation.secretLifetime,
      gracePeriodMs: raw.rotation.gracePeriod,
      retireUnmanagedKeys: raw.rotation.retireUnmanagedKeys,
      keepPrevious: raw.rotation.keepPrevious,
      batchWindowMs: raw.rotation.batchWindow,
      batchMaxPairs: raw.rotation.batchMaxPairs,
      verifyAttempts: raw.rotation.verifyAttempts,
      verifyDelayMs: raw.rotation.verifyDelay,
      lockTtlMs: raw.rotation.lockTtl,
      schedule: raw.rotation.schedule,
      timeZone: raw.rotation.timeZone,
    },
    redis: {
      url: redisUrl.url,
      username: redis.username ?? redisUrl.username,
      password: redisUrl.password ?? resolveSecret(baseDir, redis, 'password', ['redis'], false, problems),
      tls:
        redis.tls === undefined
          ? undefined
          : {
              enabled: redis.tls.enabled,
              caFile: resolveFrom(baseDir, redis.tls.caFile),
              certFile: resolveFrom(baseDir, redis.tls.certFile),
              keyFile: resolveFrom(baseDir, redis.tls.keyFile),
              servername: redis.tls.servername,
              rejectUnauthorized: redis.tls.rejectUnauthorized,
            },
      sentinel:
        redis.sentinel === undefined
          ? undefined
          : {
              masterName: redis.sentinel.masterName,
              nodes: redis.sentinel.nodes,
              password: resolveSecret(
                baseDir,
                redis.sentinel,
                'password',
                ['redis', 'sentinel'],
                false,
                problems,
              ),
            },
      cluster: redis.cluster,
      keyPrefix: redis.keyPrefix,
    },
    logging: raw.logging,
    worker: {
      concurrency: raw.worker.concurrency,
      attempts: raw.worker.attempts,
      backoffBaseMs: raw.worker.backoffBase,
      backoffMaxMs: raw.worker.backoffMax,
      shutdownTimeoutMs: raw.worker.shutdownTimeout,
      deadLetterRetentionMs: raw.worker.deadLetterRetention,
      lockDurationMs: raw.worker.lockDuration,
      stalledIntervalMs: raw.worker.stalledInterval,
      maxStalledCount: raw.worker.maxStalledCount,
    },
    http: {
      host: raw.http.host,
      port: raw.http.port,
      adminToken: resolveSecret(baseDir, raw.http, 'adminToken', ['http'], false, problems),
    },
  };
}

function buildTenant(
  tenant: RawTenant,
  index: number,
  baseDir: string,
  problems: ConfigProblem[],
): TenantConfig {
  const at = ['azure', 'tenants', index, 'auth'] as const;
  const raw = tenant.auth;
  let auth: TenantAuth;
  switch (raw.kind) {
    case 'workloadIdentity':
      auth = { kind: raw.kind, clientId: raw.clientId, tokenFilePath: raw.tokenFilePath };
      break;
    case 'managedIdentity':
      auth = { kind: raw.kind, clientId: raw.clientId };
      break;
    case 'clientSecret':
      auth = {
        kind: raw.kind,
        clientId: raw.clientId,
        clientSecret: resolveSecret(baseDir, raw, 'clientSecret', at, true, problems) as never,
      };
      break;
    case 'clientCertificate':
      checkReadable(baseDir, `${formatPath(at)}.certificateFile`, raw.certificateFile, problems);
      auth = {
        kind: raw.kind,
        clientId: raw.clientId,
        certificateFile: resolve(baseDir, raw.certificateFile),
        certificatePassword: resolveSecret(baseDir, raw, 'certificatePassword', at, false, problems),
        sendCertificateChain: raw.sendCertificateChain,
      };
      break;
  }
  return { id: tenant.id, name: tenant.name, auth };
}

/**
 * A password in the Redis URL is moved into a `Secret`, so the URL itself can be shown and logged.
 */
function splitUrlCredentials(
  text: string,
  problems: ConfigProblem[],
): {
  url: string;
  username: string | undefined;
  password: Secret | undefined;
} {
  const parsed = new URL(text);
  // URL keeps a stray `%` as it is (`redis://:50%off@host`), which decodeURIComponent throws on.
  const decode = (part: string): string | undefined => {
    try {
      return decodeURIComponent(part);
    } catch {
      problems.push({
        path: 'redis.url',
        message: 'its user or password is not valid percent-encoding: write "%" as %25',
      });
      return undefined;
    }
  };
  const username = parsed.username === '' ? undefined : decode(parsed.username);
  const decodedPassword = parsed.password === '' ? undefined : decode(parsed.password);
  const password = decodedPassword === undefined ? undefined : new Secret(decodedPassword);
  parsed.username = '';
  parsed.password = '';
  return { url: parsed.toString(), username, password };
}

/**
 * `https://host///` → `https://host`. A loop, not `/\/+$/`: that regex backtracks quadratically on
 * a long run of slashes that does not end the text, and a 40 000-slash URL would take seconds.
 */
function trimTrailingSlashes(text: string): string {
  let end = text.length;
  while (end > 0 && text[end - 1] === '/') end -= 1;
  return text.slice(0, end);
}

/** Files named in the configuration are read from its folder when relative, wherever the process runs. */
function resolveFrom(baseDir: string, file: string | undefined): string | undefined {
  return file === undefined ? undefined : resolve(baseDir, file);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
