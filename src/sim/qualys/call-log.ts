import { EndpointCallLog } from '../shared/call-log.ts';
import { ALL_ENDPOINTS, type QualysEndpoint } from './endpoints.ts';

export interface SimCall {
  readonly method: string;
  readonly path: string;
  /** 0 when the call was deliberately left unanswered (a hang fault). */
  readonly status: number;
  /** When the request arrived, in ms since the epoch. */
  readonly at: number;
  readonly endpoint: QualysEndpoint;
}

/** Every call the simulator received, in the order they were answered (or left hanging). */
export class CallLog extends EndpointCallLog<QualysEndpoint, SimCall> {
  constructor() {
    super(ALL_ENDPOINTS);
  }

  /**
   * The most calls that arrived within any `windowMs`-long interval, blocked ones included: the
   * number a client must keep below the gateway's limit, whatever its window alignment.
   */
  maxInWindow(windowMs: number): number {
    const times = this.all()
      .map((call) => call.at)
      .sort((a, b) => a - b);
    let best = 0;
    let start = 0;
    for (let end = 0; end < times.length; end++) {
      while ((times[end] ?? 0) - (times[start] ?? 0) >= windowMs) start++;
      best = Math.max(best, end - start + 1);
    }
    return best;
  }
}
