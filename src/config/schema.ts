import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { CLOUD_NAMES } from './clouds.ts';
import { isSecureOrLoopback } from './loopback.ts';
import { parseDurationMs } from './duration.ts';
import { DEFAULTS } from './defaults.ts';
import { lengthChecked } from '../util/length-checked.ts';

/**
 * The YAML schema. Every object is strict (a typo is an error, not a silently ignored key). Secrets
 * come as a pair `x` / `xFile`: the value inline (or from an environment override) or a path to a
 * mounted file; `resolveSecrets` enforces exactly one and reads the file.
 */

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const guid = z
  .string({ error: 'expected a UUID string' })
  .regex(GUID, { error: 'expected a UUID like 00000000-0000-0000-0000-000000000000' })
  .transform((value) => value.toLowerCase())
  // JSON Schema patterns have no flags: spell the case-insensitivity out for `rotator config schema`.
  .meta({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' });

const DURATION_HELP = 'expected a duration such as 90d, 12h, 1h30m, 45s or 500ms (at most 3650d)';
const duration = z
  .string({ error: DURATION_HELP })
  .refine((text) => parseDurationMs(text) !== undefined, { error: DURATION_HELP })
  .transform((text) => parseDurationMs(text) ?? 0)
  // The shape only (units in order and the 10-year cap are checked by the loader).
  .meta({ pattern: '^\\s*(\\d+(\\.\\d+)?(ms|s|m|h|d|w))+\\s*$' });

const positiveDuration = duration.refine((ms) => ms > 0, { error: 'expected a duration greater than 0' });

const url = z.string({ error: 'expected a URL' }).refine((text) => URL.canParse(text), {
  error: 'expected an absolute URL such as https://host.example',
});

/** An upstream we send credentials or tokens to: https, except on loopback (tests, simulators). */
const upstreamUrl = url
  .refine((text) => !URL.canParse(text) || isSecureOrLoopback(new URL(text)), {
    error: 'must use https (plain http is accepted only for loopback hosts such as localhost)',
  })
  .refine((text) => !URL.canParse(text) || (new URL(text).username === '' && new URL(text).password === ''), {
    error: 'must not contain credentials: use the username and password settings',
  });

/**
 * Numbers and booleans may arrive as text (environment overrides are text); only text that spells
 * one exactly is converted, anything else reaches the schema unchanged and is reported.
 */
const fromText = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => {
    if (typeof value !== 'string') return value;
    if (/^-?\d+(\.\d+)?$/.test(value.trim())) return Number(value);
    if (value === 'true' || value === 'false') return value === 'true';
    return value;
  }, schema);
const int = (min: number, max: number) =>
  fromText(
    z
      .number({ error: 'expected a whole number' })
      .int({ error: 'expected a whole number' })
      .min(min)
      .max(max),
  );
const bool = () => fromText(z.boolean({ error: 'expected true or false' }));

const nonEmpty = lengthChecked(
  z.string({ error: 'expected a string' }).min(1, { error: 'must not be empty' }),
);

const secretFields = <K extends string>(name: K) =>
  ({
    [name]: nonEmpty.optional(),
    [`${name}File`]: nonEmpty.optional(),
  }) as Record<K | `${K}File`, z.ZodOptional<typeof nonEmpty>>;

const port = int(1, 65_535);
const hostPort = z.strictObject({ host: nonEmpty, port });

const qualysHttp = z.strictObject({
  connectTimeout: positiveDuration.prefault(DEFAULTS.qualys.http.connectTimeout),
  headersTimeout: positiveDuration.prefault(DEFAULTS.qualys.http.headersTimeout),
  bodyTimeout: positiveDuration.prefault(DEFAULTS.qualys.http.bodyTimeout),
  maxAttempts: int(1, 20).prefault(DEFAULTS.qualys.http.maxAttempts),
  retryBaseDelay: positiveDuration.prefault(DEFAULTS.qualys.http.retryBaseDelay),
  retryMaxDelay: positiveDuration.prefault(DEFAULTS.qualys.http.retryMaxDelay),
  maxThrottleWait: duration.prefault(DEFAULTS.qualys.http.maxThrottleWait),
  tokenRefreshBeforeExpiry: duration.prefault(DEFAULTS.qualys.http.tokenRefreshBeforeExpiry),
});

const qualys = z.strictObject({
  gatewayUrl: upstreamUrl,
  username: nonEmpty,
  ...secretFields('password'),
  http: qualysHttp.prefault({}),
  /** The rotator's share of the subscription's API limit, counted across replicas in Redis. */
  callBudget: z.strictObject({ calls: int(1, 1_000_000), window: positiveDuration }).optional(),
});

const workloadIdentity = z.strictObject({
  kind: z.literal('workloadIdentity'),
  clientId: guid.optional(),
  tokenFilePath: nonEmpty.optional(),
});
const clientSecret = z.strictObject({
  kind: z.literal('clientSecret'),
  clientId: guid,
  ...secretFields('clientSecret'),
});
const clientCertificate = z.strictObject({
  kind: z.literal('clientCertificate'),
  clientId: guid,
  certificateFile: nonEmpty,
  ...secretFields('certificatePassword'),
  sendCertificateChain: bool().default(false),
});
const managedIdentity = z.strictObject({
  kind: z.literal('managedIdentity'),
  clientId: guid.optional(),
});

export const TENANT_AUTH_KINDS = ['workloadIdentity', 'clientSecret', 'clientCertificate', 'managedIdentity'];

const tenant = z.strictObject({
  id: guid,
  name: nonEmpty.optional(),
  auth: z.discriminatedUnion('kind', [workloadIdentity, clientSecret, clientCertificate, managedIdentity], {
    error: `expected auth.kind to be one of ${TENANT_AUTH_KINDS.join(', ')}`,
  }),
});

const graphHttp = z.strictObject({
  requestTimeout: positiveDuration.prefault(DEFAULTS.azure.graph.requestTimeout),
  maxAttempts: int(1, 20).prefault(DEFAULTS.azure.graph.maxAttempts),
  retryBaseDelay: positiveDuration.prefault(DEFAULTS.azure.graph.retryBaseDelay),
  retryMaxDelay: positiveDuration.prefault(DEFAULTS.azure.graph.retryMaxDelay),
  maxThrottleWait: duration.prefault(DEFAULTS.azure.graph.maxThrottleWait),
});

const azure = z.strictObject({
  cloud: z.enum(CLOUD_NAMES).default('public'),
  authorityHost: upstreamUrl.optional(),
  graphEndpoint: upstreamUrl.optional(),
  readinessTimeout: positiveDuration.prefault(DEFAULTS.azure.readinessTimeout),
  readinessPollInterval: positiveDuration.prefault(DEFAULTS.azure.readinessPollInterval),
  graph: graphHttp.prefault({}),
  tenants: lengthChecked(z.array(tenant).min(1, { error: 'configure at least one tenant' })),
});

const target = z.strictObject({
  name: nonEmpty.optional(),
  appId: guid,
  objectId: guid.optional(),
  tenant: nonEmpty,
  connectors: lengthChecked(z.array(guid).min(1, { error: 'list at least one connector UUID' })),
});

const cron = z.string({ error: 'expected a cron pattern' }).refine(
  (pattern) => {
    try {
      CronExpressionParser.parse(pattern);
      return true;
    } catch {
      return false;
    }
  },
  { error: 'expected a cron pattern of 5 or 6 fields, such as "0 * * * *" (hourly)' },
);

const timeZone = z.string({ error: 'expected an IANA time zone' }).refine(
  (zone) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: zone });
      return true;
    } catch {
      return false;
    }
  },
  { error: 'expected an IANA time zone such as UTC or Europe/Paris' },
);

const rotation = z.strictObject({
  interval: positiveDuration.prefault(DEFAULTS.rotation.interval),
  rotateBeforeExpiry: duration.prefault(DEFAULTS.rotation.rotateBeforeExpiry),
  secretLifetime: positiveDuration.prefault(DEFAULTS.rotation.secretLifetime),
  gracePeriod: duration.prefault(DEFAULTS.rotation.gracePeriod),
  retireUnmanagedKeys: bool().default(false),
  keepPrevious: int(0, 10).prefault(DEFAULTS.rotation.keepPrevious),
  batchWindow: duration.prefault(DEFAULTS.rotation.batchWindow),
  batchMaxPairs: int(1, 10_000).prefault(DEFAULTS.rotation.batchMaxPairs),
  verifyAttempts: int(1, 20).prefault(DEFAULTS.rotation.verifyAttempts),
  verifyDelay: duration.prefault(DEFAULTS.rotation.verifyDelay),
  lockTtl: positiveDuration.prefault(DEFAULTS.rotation.lockTtl),
  schedule: cron.prefault(DEFAULTS.rotation.schedule),
  timeZone: timeZone.prefault(DEFAULTS.rotation.timeZone),
});

const redisTls = z.strictObject({
  enabled: bool().default(true),
  caFile: nonEmpty.optional(),
  certFile: nonEmpty.optional(),
  keyFile: nonEmpty.optional(),
  servername: nonEmpty.optional(),
  rejectUnauthorized: bool().default(true),
});

const redis = z.strictObject({
  url: url.prefault(DEFAULTS.redis.url),
  username: nonEmpty.optional(),
  ...secretFields('password'),
  tls: redisTls.optional(),
  sentinel: z
    .strictObject({
      masterName: nonEmpty,
      nodes: lengthChecked(z.array(hostPort).min(1, { error: 'list at least one Sentinel node' })),
      ...secretFields('password'),
    })
    .optional(),
  cluster: z
    .strictObject({
      nodes: lengthChecked(z.array(hostPort).min(1, { error: 'list at least one Cluster node' })),
    })
    .optional(),
  keyPrefix: nonEmpty
    .refine((prefix) => !prefix.includes(':'), {
      error: 'must not contain ":" (BullMQ adds its own separators)',
    })
    .prefault(DEFAULTS.redis.keyPrefix),
});

const logging = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

const worker = z.strictObject({
  concurrency: int(1, 256).prefault(DEFAULTS.worker.concurrency),
  attempts: int(1, 100).prefault(DEFAULTS.worker.attempts),
  backoffBase: positiveDuration.prefault(DEFAULTS.worker.backoffBase),
  backoffMax: positiveDuration.prefault(DEFAULTS.worker.backoffMax),
  shutdownTimeout: positiveDuration.prefault(DEFAULTS.worker.shutdownTimeout),
  deadLetterRetention: positiveDuration.prefault(DEFAULTS.worker.deadLetterRetention),
  // BullMQ renews a job's lock every half lockDuration: below a second, a busy event loop looks like a crash.
  lockDuration: positiveDuration
    .refine((ms) => ms >= 1_000, { error: 'expected at least 1s' })
    .prefault(DEFAULTS.worker.lockDuration),
  stalledInterval: positiveDuration
    .refine((ms) => ms >= 100, { error: 'expected at least 100ms' })
    .prefault(DEFAULTS.worker.stalledInterval),
  maxStalledCount: int(0, 1_000).prefault(DEFAULTS.worker.maxStalledCount),
});

const http = z.strictObject({
  host: nonEmpty.prefault(DEFAULTS.http.host),
  port: fromText(z.number().int().min(0).max(65_535)).prefault(DEFAULTS.http.port),
  // The admin API and queue dashboard are served only when a token is set.
  ...secretFields('adminToken'),
});

export const configSchema = z.strictObject({
  qualys,
  azure,
  targets: z.array(target).default([]),
  rotation: rotation.prefault({}),
  redis: redis.prefault({}),
  worker: worker.prefault({}),
  http: http.prefault({}),
  logging: logging.prefault({}),
});

export type RawConfig = z.output<typeof configSchema>;
export type RawTenant = RawConfig['azure']['tenants'][number];
export type RawTarget = RawConfig['targets'][number];
