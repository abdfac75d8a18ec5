import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RedisConfig } from '../config/types.ts';

/**
 * `worker`: BullMQ workers block on Redis and must wait out an outage, so commands queue and never
 * give up (BullMQ refuses a worker connection without `maxRetriesPerRequest: null`).
 * `producer`: CLI commands and schedulers should fail fast and say why, rather than hang.
 */
export type RedisPurpose = 'worker' | 'producer';

export interface RedisCheck {
  readonly version: string;
  readonly maxmemoryPolicy: string | undefined;
  readonly warnings: string[];
}

const MINIMUM_VERSION = [6, 2] as const;

interface UrlParts {
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly tls: boolean;
  readonly username: string | undefined;
  readonly password: string | undefined;
}

/**
 * The connection the config describes: a single server (the URL), Sentinel (the URL gives the
 * scheme, credentials and database; the sentinels find the master) or Cluster (the URL gives the
 * scheme and credentials; the nodes are the seeds). Credentials from the config's secrets win over
 * any left in the URL. No error raised here quotes the URL or the password.
 */
export function createRedis(config: RedisConfig, purpose: RedisPurpose): Redis | Cluster {
  const url = parseUrl(config.url);
  const tls = tlsOptions(config, url.tls);
  const worker = purpose === 'worker';
  const common = {
    username: config.username ?? url.username,
    password: config.password?.reveal() ?? url.password,
    connectionName: `rotator-${purpose}`,
    maxRetriesPerRequest: worker ? null : 1,
    ...(tls === undefined ? {} : { tls }),
  } satisfies RedisOptions;

  if (config.cluster !== undefined) {
    if (url.db !== 0)
      throw new Error(`redis.url selects database ${url.db}, but Redis Cluster has only database 0`);
    return new Cluster(
      config.cluster.nodes.map(({ host, port }) => ({ host, port })),
      { redisOptions: common, enableOfflineQueue: worker },
    );
  }
  if (config.sentinel !== undefined) {
    return new Redis({
      ...common,
      db: url.db,
      enableOfflineQueue: worker,
      name: config.sentinel.masterName,
      sentinels: config.sentinel.nodes.map(({ host, port }) => ({ host, port })),
      sentinelPassword: config.sentinel.password?.reveal(),
      // One TLS setting for both: deployments that encrypt Redis encrypt its sentinels too.
      ...(tls === undefined ? {} : { enableTLSForSentinelMode: true, sentinelTLS: tls }),
    });
  }
  return new Redis({ ...common, host: url.host, port: url.port, db: url.db, enableOfflineQueue: worker });
}

function parseUrl(text: string): UrlParts {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // Node's URL error carries the input, which may hold a password.
    throw new Error('redis.url is not a valid URL');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
    throw new Error(`redis.url must start with redis:// or rediss://, not ${url.protocol}//`);
  const path = url.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d+$/.test(path))
    throw new Error('redis.url has a path that is not a database number');
  return {
    host: url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: url.port === '' ? 6379 : Number(url.port),
    db: path === '' ? 0 : Number(path),
    tls: url.protocol === 'rediss:',
    username: url.username === '' ? undefined : decodeURIComponent(url.username),
    password: url.password === '' ? undefined : decodeURIComponent(url.password),
  };
}

function tlsOptions(config: RedisConfig, urlWantsTls: boolean): ConnectionOptions | undefined {
  const tls = config.tls;
  if (urlWantsTls && tls?.enabled === false)
    throw new Error('redis.url uses rediss:// (TLS) but redis.tls.enabled is false: change one of them');
  if (!urlWantsTls && tls?.enabled !== true) return undefined;
  if (tls === undefined) return {};
  return {
    ...(tls.caFile === undefined ? {} : { ca: readTlsFile('redis.tls.caFile', tls.caFile) }),
    ...(tls.certFile === undefined ? {} : { cert: readTlsFile('redis.tls.certFile', tls.certFile) }),
    ...(tls.keyFile === undefined ? {} : { key: readTlsFile('redis.tls.keyFile', tls.keyFile) }),
    ...(tls.servername === undefined ? {} : { servername: tls.servername }),
    rejectUnauthorized: tls.rejectUnauthorized,
  };
}

function readTlsFile(setting: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new Error(`cannot read ${setting} ${file} (${code})`, { cause: error });
  }
}

/**
 * The start-up check of the server(s): the version BullMQ needs, and the eviction policy that keeps
 * jobs and ledger records from being dropped under memory pressure. Waits for the connection to be
 * ready first (a `producer` connection would otherwise refuse commands until then). On Cluster every
 * master is checked.
 *
 * `readyTimeoutMs` may be `Infinity` (the worker waits for Redis as long as it takes); `signal` then
 * ends the wait (a SIGTERM during start-up).
 */
export async function checkRedis(
  redis: Redis | Cluster,
  options: { readonly readyTimeoutMs?: number; readonly signal?: AbortSignal } = {},
): Promise<RedisCheck> {
  await whenReady(redis, options.readyTimeoutMs ?? 10_000, options.signal);
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  const checks = await Promise.all(nodes.map((node) => checkNode(node)));
  const first = checks[0];
  if (first === undefined) throw new Error('Redis Cluster reports no master node');
  const oldest = checks.reduce((a, b) => (compareVersions(b.version, a.version) < 0 ? b : a));
  const policies = new Set(checks.map((check) => check.maxmemoryPolicy));
  return {
    version: oldest.version,
    maxmemoryPolicy: policies.size === 1 ? first.maxmemoryPolicy : undefined,
    warnings: [...new Set(checks.flatMap((check) => check.warnings))],
  };
}

async function checkNode(node: Redis): Promise<RedisCheck> {
  const info = await node.info('server');
  const version = /^redis_version:(\S+)/m.exec(info)?.[1];
  if (version === undefined)
    throw new Error('the server did not report redis_version in INFO server: is it Redis?');
  if (compareVersions(version, MINIMUM_VERSION.join('.')) < 0)
    throw new Error(
      `Redis ${version} is too old: the rotator needs ${MINIMUM_VERSION.join('.')} or newer (BullMQ requirement)`,
    );
  const warnings: string[] = [];
  const maxmemoryPolicy = await readPolicy(node, warnings);
  if (maxmemoryPolicy !== undefined && maxmemoryPolicy !== 'noeviction')
    warnings.push(
      `maxmemory-policy is ${maxmemoryPolicy}: set it to noeviction, or Redis may evict BullMQ jobs ` +
        'and ledger records (what was pushed where) when memory runs short',
    );
  return { version, maxmemoryPolicy, warnings };
}

async function readPolicy(node: Redis, warnings: string[]): Promise<string | undefined> {
  let reply: unknown;
  try {
    reply = await node.config('GET', 'maxmemory-policy');
  } catch (error) {
    // Managed services (Azure Cache for Redis, ElastiCache) disable CONFIG: the server answered, so
    // Redis works; only the policy is unknown. Anything else (a lost connection) is a real failure.
    if (!(error instanceof Error) || error.name !== 'ReplyError') throw error;
    warnings.push(
      `cannot read maxmemory-policy (the server refused CONFIG GET: ${error.message.split('\n')[0] ?? ''}); ` +
        'make sure it is noeviction in the service settings',
    );
    return undefined;
  }
  const value = policyFromReply(reply);
  if (value === undefined)
    warnings.push('the server did not report maxmemory-policy; make sure it is noeviction');
  return value;
}

/** RESP2 (and RESP3 in ioredis' legacy mapping) answer `[name, value]`; RESP3 maps an object. */
function policyFromReply(reply: unknown): string | undefined {
  if (Array.isArray(reply)) {
    const value: unknown = reply[1];
    return typeof value === 'string' ? value : undefined;
  }
  if (reply !== null && typeof reply === 'object') {
    const value: unknown = (reply as Record<string, unknown>)['maxmemory-policy'];
    return typeof value === 'string' ? value : undefined;
  }
  return undefined;
}

function compareVersions(a: string, b: string): number {
  const parts = (version: string) => version.split('.').map((part) => Number.parseInt(part, 10) || 0);
  const [left, right] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const difference = (left[i] ?? 0) - (right[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

function whenReady(redis: Redis | Cluster, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  if (redis.status === 'end') return Promise.reject(new Error('the Redis connection is already closed'));
  if (signal?.aborted === true) return Promise.reject(new Error('stopped while waiting for Redis'));
  return new Promise((resolve, reject) => {
    let lastError = '';
    const onReady = () => {
      cleanup();
      resolve();
    };
    const onError = (error: unknown) => {
      lastError = error instanceof Error ? `: ${error.message}` : '';
      if (!isPermanent(error)) return;
      cleanup();
      reject(new Error(`Redis refused the connection${lastError}`));
    };
    const onEnd = () => {
      cleanup();
      reject(new Error(`the Redis connection closed before it was ready${lastError}`));
    };
    const onAbort = () => {
      cleanup();
      reject(new Error(`stopped while waiting for Redis${lastError}`));
    };
    // Until the timeout, connection errors are retried by ioredis (Redis may be starting up); only
    // the last one is reported. No timer at all for an endless wait (setTimeout would fire at once).
    const timer = Number.isFinite(timeoutMs)
      ? setTimeout(() => {
          cleanup();
          reject(new Error(`Redis was not ready within ${timeoutMs} ms${lastError}`));
        }, timeoutMs)
      : undefined;
    const cleanup = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
      redis.off('end', onEnd);
      signal?.removeEventListener('abort', onAbort);
    };
    redis.on('ready', onReady);
    redis.on('error', onError);
    redis.on('end', onEnd);
    signal?.addEventListener('abort', onAbort, { once: true });
    // A lazy connection waits for its first command or connect(); its failure arrives as events.
    if (redis.status === 'wait') redis.connect().catch(() => undefined);
  });
}

const PERMANENT_REPLY = /^(WRONGPASS|NOAUTH|NOPERM|ERR invalid password|ERR AUTH)/;
const PERMANENT_TLS_CODES = new Set([
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
]);

/** Errors that no retry can fix: waiting out the timeout would only delay the operator's answer. */
function isPermanent(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'ReplyError') return PERMANENT_REPLY.test(error.message);
  const code = (error as NodeJS.ErrnoException).code;
  return code !== undefined && PERMANENT_TLS_CODES.has(code);
}
