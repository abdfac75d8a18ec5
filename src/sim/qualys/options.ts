import { randomBytes } from 'node:crypto';
import { isNonNegativeInteger, isPositiveInteger } from '../shared/option-checks.ts';
import type { CredentialValidator } from './mapping-api.ts';

export interface QualysSimulatorOptions {
  /** Default '127.0.0.1'. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** PEM certificate and key; when given the server speaks HTTPS. */
  tls?: { cert: string; key: string };
  /** The accepted username, default 'sim-user'. */
  username?: string;
  /** The accepted password, default 24 random characters. */
  password?: string;
  /** JWT lifetime, default 4 h as on the real gateway. */
  tokenTtlMs?: number;
  /** Connector UUIDs that exist; any other is an unknown connector. */
  connectors?: readonly string[];
  /** Default: any non-empty secret is valid. */
  validateCredential?: CredentialValidator;
  /** Default true: list returns the cache snapshot, which only sync refreshes. */
  listReadsCache?: boolean;
  /** Default 300 calls per 3,600 s fixed window, blocked with 429. */
  rateLimit?: { limit: number; windowMs: number; blockStatus?: 429 | 409 };
  /** Default 2 requests in flight; more answer blockStatus. */
  concurrencyLimit?: number;
  /** Default 1 MiB; larger bodies answer 413. */
  maxBodyBytes?: number;
  /** Seed of the PRNG behind errorRate, default 1. */
  seed?: number;
}

export interface ResolvedOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: { readonly cert: string; readonly key: string } | undefined;
  readonly username: string;
  readonly password: string;
  readonly tokenTtlMs: number;
  readonly connectors: readonly string[];
  readonly validateCredential: CredentialValidator;
  readonly listReadsCache: boolean;
  readonly rateLimit: { readonly limit: number; readonly windowMs: number; readonly blockStatus: 429 | 409 };
  readonly concurrencyLimit: number;
  readonly maxBodyBytes: number;
  readonly seed: number;
}

const DEFAULTS = {
  host: '127.0.0.1',
  port: 0,
  username: 'sim-user',
  tokenTtlMs: 4 * 60 * 60 * 1000,
  rateLimit: { limit: 300, windowMs: 3_600_000, blockStatus: 429 },
  concurrencyLimit: 2,
  maxBodyBytes: 1024 * 1024,
  seed: 1,
} as const;

/** Applies the defaults and reports every invalid option at once (without echoing any value). */
export function resolveOptions(options: QualysSimulatorOptions): ResolvedOptions {
  const rateLimit = {
    limit: options.rateLimit?.limit ?? DEFAULTS.rateLimit.limit,
    windowMs: options.rateLimit?.windowMs ?? DEFAULTS.rateLimit.windowMs,
    blockStatus: options.rateLimit?.blockStatus ?? DEFAULTS.rateLimit.blockStatus,
  };
  const resolved: ResolvedOptions = {
    host: options.host ?? DEFAULTS.host,
    port: options.port ?? DEFAULTS.port,
    tls: options.tls,
    username: options.username ?? DEFAULTS.username,
    password: options.password ?? randomBytes(18).toString('base64url'),
    tokenTtlMs: options.tokenTtlMs ?? DEFAULTS.tokenTtlMs,
    connectors: [...(options.connectors ?? [])],
    validateCredential: options.validateCredential ?? ((_appId, secret) => secret.length > 0),
    listReadsCache: options.listReadsCache ?? true,
    rateLimit,
    concurrencyLimit: options.concurrencyLimit ?? DEFAULTS.concurrencyLimit,
    maxBodyBytes: options.maxBodyBytes ?? DEFAULTS.maxBodyBytes,
    seed: options.seed ?? DEFAULTS.seed,
  };

  const problems: string[] = [];
  if (!Number.isInteger(resolved.port) || resolved.port < 0 || resolved.port > 65535) {
    problems.push('port must be an integer from 0 to 65535');
  }
  if (resolved.username === '') problems.push('username must not be empty');
  if (resolved.password === '') problems.push('password must not be empty');
  if (!isPositiveInteger(resolved.tokenTtlMs)) problems.push('tokenTtlMs must be a positive integer');
  if (!isPositiveInteger(rateLimit.limit)) problems.push('rateLimit.limit must be a positive integer');
  if (!isPositiveInteger(rateLimit.windowMs)) problems.push('rateLimit.windowMs must be a positive integer');
  // Widened because JavaScript callers are not held to the literal type.
  const blockStatus: number = rateLimit.blockStatus;
  if (blockStatus !== 429 && blockStatus !== 409) {
    problems.push('rateLimit.blockStatus must be 429 or 409');
  }
  if (!isPositiveInteger(resolved.concurrencyLimit))
    problems.push('concurrencyLimit must be a positive integer');
  if (!isNonNegativeInteger(resolved.maxBodyBytes)) {
    problems.push('maxBodyBytes must be a non-negative integer');
  }
  if (!Number.isInteger(resolved.seed)) problems.push('seed must be an integer');
  if (problems.length > 0) throw new TypeError(`Invalid QualysSimulator options: ${problems.join('; ')}`);
  return Object.freeze(resolved);
}
