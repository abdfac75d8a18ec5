import type { JsonParseResult } from '../shared/http-helpers.ts';
import type { DirectoryState } from './directory-state.ts';
import type { FaultInjector } from './faults.ts';
import type { GraphRequestIds } from './graph-errors.ts';
import type { GraphRoute } from './graph-routes.ts';
import type { Caller } from './jwt.ts';
import type { TenantRateLimiter } from './rate-limiter.ts';

/** One authenticated Graph operation: a request, or one sub-request of a $batch. */
export interface GraphCall {
  readonly method: string;
  readonly route: GraphRoute;
  readonly query: URLSearchParams;
  /** The body when it was sent as application/json (parsed or not), undefined otherwise. */
  readonly json: JsonParseResult | undefined;
  readonly caller: Caller;
  readonly ids: GraphRequestIds;
  readonly nowMs: number;
}

export interface GraphSettings {
  /** No trailing slash; Graph paths are under `${graphEndpoint}/v1.0`. */
  readonly graphEndpoint: string;
  readonly pageSize: number;
  readonly maxPasswordsPerApp: number;
  readonly propagationDelayMs: number;
  /** Keyed by lower-cased tenant id. */
  readonly lifetimePolicy: ReadonlyMap<string, number>;
}

export interface GraphContext {
  readonly directory: DirectoryState;
  readonly faults: FaultInjector;
  readonly limiter: TenantRateLimiter;
  readonly settings: GraphSettings;
  /** Told of every secret text addPassword creates, for leak scans. */
  readonly onSecretCreated: (secretText: string) => void;
}
