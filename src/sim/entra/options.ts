import { isNonNegativeInteger, isPositiveInteger } from '../shared/option-checks.ts';

export interface EntraGraphSimulatorOptions {
  /** PEM certificate and key: MSAL and the Graph client accept nothing but https. */
  tls: { cert: string; key: string };
  /** Default '127.0.0.1'. */
  host?: string;
  /**
   * Default 0. A password added through Graph is refused by the token endpoint (AADSTS7000215) until
   * this long after its creation, as Entra does while a new secret replicates.
   */
  propagationDelayMs?: number;
  /** Lifetime of the access tokens, default 3600 s. */
  tokenTtlSec?: number;
  /**
   * Default 1000; beyond it addPassword answers 400 Directory_ResourceSizeExceeded. Apps that allow
   * personal Microsoft accounts hold at most 2 whatever this says (400 TooManyAppPasswords).
   */
  maxPasswordsPerApp?: number;
  /** Per tenant id: an addPassword whose lifetime exceeds maxLifetimeMs answers 400 CredentialInvalidLifetimeAsPerAppPolicy. */
  lifetimePolicy?: Readonly<Record<string, { maxLifetimeMs: number }>>;
  /** Page size of GET /applications when the client gives no $top, default 100 (Graph's). */
  pageSize?: number;
  /** Per tenant; each $batch sub-request counts, the envelope does not. Over it: 429 with Retry-After. */
  graphRateLimit?: { limit: number; windowMs: number };
  /** Seed of the PRNG behind errorRate, default 1. */
  seed?: number;
}

export interface ResolvedOptions {
  readonly tls: { readonly cert: string; readonly key: string };
  readonly host: string;
  readonly propagationDelayMs: number;
  readonly tokenTtlSec: number;
  readonly maxPasswordsPerApp: number;
  /** Keyed by lower-cased tenant id: tenant ids are case-insensitive and MSAL lower-cases them. */
  readonly lifetimePolicy: ReadonlyMap<string, number>;
  readonly pageSize: number;
  readonly graphRateLimit: { readonly limit: number; readonly windowMs: number } | undefined;
  readonly seed: number;
  readonly maxBodyBytes: number;
}

const DEFAULTS = {
  host: '127.0.0.1',
  propagationDelayMs: 0,
  tokenTtlSec: 3600,
  maxPasswordsPerApp: 1000,
  pageSize: 100,
  seed: 1,
  maxBodyBytes: 4 * 1024 * 1024,
} as const;

export const MAX_PAGE_SIZE = 999;

/** Applies the defaults and reports every invalid option at once (without echoing any value). */
export function resolveOptions(options: EntraGraphSimulatorOptions): ResolvedOptions {
  const problems: string[] = [];
  // Widened because JavaScript callers are not held to the declared type.
  const tls = options.tls as { cert?: unknown; key?: unknown } | undefined;
  const cert = typeof tls?.cert === 'string' ? tls.cert : '';
  const key = typeof tls?.key === 'string' ? tls.key : '';
  if (cert === '' || key === '') problems.push('tls.cert and tls.key must be PEM strings');
  const lifetimePolicy = new Map<string, number>();
  for (const [tenantId, policy] of Object.entries(options.lifetimePolicy ?? {})) {
    if (!isPositiveInteger(policy.maxLifetimeMs)) {
      problems.push(`lifetimePolicy of tenant ${tenantId}: maxLifetimeMs must be a positive integer`);
    }
    lifetimePolicy.set(tenantId.toLowerCase(), policy.maxLifetimeMs);
  }
  const resolved: ResolvedOptions = {
    tls: { cert, key },
    host: options.host ?? DEFAULTS.host,
    propagationDelayMs: options.propagationDelayMs ?? DEFAULTS.propagationDelayMs,
    tokenTtlSec: options.tokenTtlSec ?? DEFAULTS.tokenTtlSec,
    maxPasswordsPerApp: options.maxPasswordsPerApp ?? DEFAULTS.maxPasswordsPerApp,
    lifetimePolicy,
    pageSize: options.pageSize ?? DEFAULTS.pageSize,
    graphRateLimit: options.graphRateLimit && { ...options.graphRateLimit },
    seed: options.seed ?? DEFAULTS.seed,
    maxBodyBytes: DEFAULTS.maxBodyBytes,
  };
  if (resolved.host === '') problems.push('host must not be empty');
  if (!isNonNegativeInteger(resolved.propagationDelayMs))
    problems.push('propagationDelayMs must be a non-negative integer');
  if (!isPositiveInteger(resolved.tokenTtlSec)) problems.push('tokenTtlSec must be a positive integer');
  if (!isPositiveInteger(resolved.maxPasswordsPerApp))
    problems.push('maxPasswordsPerApp must be a positive integer');
  if (!isPositiveInteger(resolved.pageSize) || resolved.pageSize > MAX_PAGE_SIZE) {
    problems.push(`pageSize must be an integer from 1 to ${MAX_PAGE_SIZE}`);
  }
  const limit = resolved.graphRateLimit;
  if (limit !== undefined && (!isPositiveInteger(limit.limit) || !isPositiveInteger(limit.windowMs))) {
    problems.push('graphRateLimit.limit and graphRateLimit.windowMs must be positive integers');
  }
  if (!Number.isInteger(resolved.seed)) problems.push('seed must be an integer');
  if (problems.length > 0) throw new TypeError(`Invalid EntraGraphSimulator options: ${problems.join('; ')}`);
  return Object.freeze(resolved);
}
