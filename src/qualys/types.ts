import type { Secret } from '../util/secret.ts';

/** A connector UUID and the secondary app ids registered to it, as Qualys lists them. */
export interface ConnectorMapping {
  readonly connectorId: string;
  readonly appIds: readonly string[];
}

/** A secret to hand to Qualys for one secondary app. */
export interface AppCredential {
  readonly appId: string;
  readonly secret: Secret;
}

/** The body of a register or update call: which apps go to which connectors, with their secrets. */
export interface SecondaryAppBatch {
  readonly mappings: readonly ConnectorMapping[];
  readonly credentials: readonly AppCredential[];
}

/**
 * What happened to one (connector, app) pair of a batch:
 * - `succeeded`: listed in `successData`;
 * - `failed`: matched by a `failures` entry;
 * - `unconfirmed`: neither. The spec's own sample answers "All items processed successfully" while
 *   listing only some pairs in `successData`, so absence is not failure: verify through the list.
 */
export type PairStatus = 'succeeded' | 'failed' | 'unconfirmed';

export interface PairOutcome {
  readonly connectorId: string;
  readonly appId: string;
  readonly status: PairStatus;
  /** The failure's code as Qualys gave it, when it gave one. */
  readonly errorCode?: string | undefined;
  /** The failure's message as Qualys gave it (secrets scrubbed). */
  readonly message?: string | undefined;
}

export interface BatchResult {
  readonly httpStatus: number;
  readonly message: string | undefined;
  /** One outcome per requested pair, in request order. */
  readonly outcomes: readonly PairOutcome[];
  /**
   * `failures` entries that name no requested pair, kept whole (secret-looking fields scrubbed) so an
   * operator can read them: the spec does not define the shape of a failure.
   */
  readonly unmatchedFailures: readonly unknown[];
}

/** Pacing information from the `X-RateLimit-*` and `X-Concurrency-Limit-*` headers of the last answer. */
export interface RateLimitInfo {
  readonly limit: number | undefined;
  readonly windowSec: number | undefined;
  readonly remaining: number | undefined;
  readonly toWaitSec: number | undefined;
  readonly concurrencyLimit: number | undefined;
  readonly concurrencyRunning: number | undefined;
  /** When these headers were read (ms since the epoch). */
  readonly observedAt: number;
}

export type QualysOperation = 'auth' | 'register' | 'update' | 'list' | 'delete' | 'sync';
