import type { Secret } from '../util/secret.ts';
import type { RetryOptions } from '../http/retry-policy.ts';
import type { CloudName } from './clouds.ts';

/** The loaded, validated and frozen configuration. Durations are milliseconds; secrets are `Secret`s. */
export interface RotatorConfig {
  readonly qualys: QualysConfig;
  readonly azure: AzureConfig;
  readonly targets: readonly TargetConfig[];
  readonly rotation: RotationPolicy;
  readonly redis: RedisConfig;
  readonly logging: LoggingConfig;
  readonly worker: WorkerConfig;
  readonly http: HttpServerConfig;
}

export interface WorkerConfig {
  readonly concurrency: number;
  readonly attempts: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly shutdownTimeoutMs: number;
  readonly deadLetterRetentionMs: number;
  /** BullMQ's job lock, renewed while the job runs; a dead worker's jobs are free once it expires. */
  readonly lockDurationMs: number;
  /** How often BullMQ's stall checker looks for active jobs whose lock expired. */
  readonly stalledIntervalMs: number;
  /** Stalls a job may have before BullMQ fails it (and the worker dead-letters it). */
  readonly maxStalledCount: number;
}

export interface HttpServerConfig {
  readonly host: string;
  readonly port: number;
  /** The bearer token of `/admin/`; without one the admin API and dashboard are off. */
  readonly adminToken: Secret | undefined;
}

export interface QualysConfig {
  /** Gateway base URL without a trailing slash, e.g. `https://gateway.qg1.apps.qualys.com`. */
  readonly gatewayUrl: string;
  readonly username: string;
  readonly password: Secret;
  readonly http: QualysHttpOptions;
  /** At most `calls` Qualys calls per `windowMs` across all replicas (the subscription's limit). */
  readonly callBudget: { readonly calls: number; readonly windowMs: number } | undefined;
}

export interface QualysHttpOptions extends RetryOptions {
  readonly connectTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly tokenRefreshBeforeExpiryMs: number;
}

export interface GraphHttpOptions extends RetryOptions {
  /** Time allowed for one Graph request, answer included. */
  readonly requestTimeoutMs: number;
}

export interface AzureConfig {
  readonly cloud: CloudName;
  readonly authorityHost: string;
  readonly graphEndpoint: string;
  /** `https://<graph host>/.default` */
  readonly graphScope: string;
  /** How long to wait for Entra to accept a new secret before giving up on it. */
  readonly readinessTimeoutMs: number;
  /** First delay between two readiness probes; it grows to 30 s. */
  readonly readinessPollIntervalMs: number;
  readonly graph: GraphHttpOptions;
  readonly tenants: readonly TenantConfig[];
}

export interface TenantConfig {
  readonly id: string;
  readonly name: string | undefined;
  readonly auth: TenantAuth;
}

export type TenantAuth =
  | {
      readonly kind: 'workloadIdentity';
      readonly clientId: string | undefined;
      readonly tokenFilePath: string | undefined;
    }
  | { readonly kind: 'clientSecret'; readonly clientId: string; readonly clientSecret: Secret }
  | {
      readonly kind: 'clientCertificate';
      readonly clientId: string;
      readonly certificateFile: string;
      readonly certificatePassword: Secret | undefined;
      readonly sendCertificateChain: boolean;
    }
  | { readonly kind: 'managedIdentity'; readonly clientId: string | undefined };

export interface TargetConfig {
  /** A label for humans; defaults to the appId. */
  readonly name: string;
  readonly appId: string;
  readonly objectId: string | undefined;
  /** The tenant id (resolved from the id or name the file gave). */
  readonly tenantId: string;
  readonly connectors: readonly string[];
}

export interface RotationPolicy {
  readonly intervalMs: number;
  readonly rotateBeforeExpiryMs: number;
  readonly secretLifetimeMs: number;
  readonly gracePeriodMs: number;
  readonly retireUnmanagedKeys: boolean;
  readonly keepPrevious: number;
  readonly batchWindowMs: number;
  readonly batchMaxPairs: number;
  readonly verifyAttempts: number;
  readonly verifyDelayMs: number;
  readonly lockTtlMs: number;
  readonly schedule: string;
  readonly timeZone: string;
}

export interface RedisConfig {
  readonly url: string;
  readonly username: string | undefined;
  readonly password: Secret | undefined;
  readonly tls: RedisTlsConfig | undefined;
  readonly sentinel:
    | {
        readonly masterName: string;
        readonly nodes: readonly HostPort[];
        readonly password: Secret | undefined;
      }
    | undefined;
  readonly cluster: { readonly nodes: readonly HostPort[] } | undefined;
  readonly keyPrefix: string;
}

export interface RedisTlsConfig {
  readonly enabled: boolean;
  readonly caFile: string | undefined;
  readonly certFile: string | undefined;
  readonly keyFile: string | undefined;
  readonly servername: string | undefined;
  readonly rejectUnauthorized: boolean;
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface LoggingConfig {
  readonly level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}
