import { EndpointCallLog } from '../shared/call-log.ts';
import { ALL_ENDPOINTS, type EntraGraphEndpoint } from './endpoints.ts';

export interface SimCall {
  readonly endpoint: EntraGraphEndpoint;
  readonly method: string;
  /** The percent-decoded path, without the query string. */
  readonly path: string;
  /** 0 when the call was deliberately left unanswered (a hang fault). */
  readonly status: number;
  /** When the request arrived, in ms since the epoch. */
  readonly at: number;
  /** The tenant the call was for: from the path (Entra) or the bearer token (Graph), when known. */
  readonly tenantId?: string;
}

/**
 * Every call both listeners received, in the order they were answered (or left hanging). A $batch
 * is one call; its sub-requests are only counted, by endpoint, on the side.
 */
export class CallLog extends EndpointCallLog<EntraGraphEndpoint, SimCall> {
  readonly #batched = new Map<EntraGraphEndpoint, number>();

  constructor() {
    super(ALL_ENDPOINTS);
  }

  recordBatched(endpoint: EntraGraphEndpoint): void {
    this.#batched.set(endpoint, (this.#batched.get(endpoint) ?? 0) + 1);
  }

  batchedCount(endpoint?: EntraGraphEndpoint): number {
    if (endpoint !== undefined) return this.#batched.get(endpoint) ?? 0;
    return [...this.#batched.values()].reduce((sum, count) => sum + count, 0);
  }

  batchedCountsByEndpoint(): Record<string, number> {
    return Object.fromEntries(ALL_ENDPOINTS.map((endpoint) => [endpoint, this.batchedCount(endpoint)]));
  }
}
