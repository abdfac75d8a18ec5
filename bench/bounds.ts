/**
 * The throughput the upstreams allow, to which the measured rate is compared. Qualys allows `limit`
 * calls per `windowMs` (300 an hour by default, scaled down in time by the benchmark); one batched round
 * (update + sync + list) pushes up to `batchMaxPairs` (connector, app) pairs. Entra makes every new
 * secret wait `propagationMs` before it works, so a worker with `concurrency` slots finishes at most
 * `concurrency` rotations per (propagation + the calls' latency + the batch window).
 */
export interface BoundInputs {
  readonly qualysLimit: number;
  readonly qualysWindowMs: number;
  /** Qualys calls one push round needs: update, sync and at least one list. */
  readonly callsPerRound: number;
  readonly batchMaxPairs: number;
  readonly pairsPerTarget: number;
  readonly concurrency: number;
  readonly propagationMs: number;
  readonly batchWindowMs: number;
  /** Upstream calls on a rotation's critical path (Graph, token, Qualys), each `latencyMs`. */
  readonly criticalPathCalls: number;
  readonly latencyMs: number;
}

export interface Bounds {
  /** Rotated targets per minute that the Qualys limit allows with full batches. */
  readonly qualysPerMinute: number;
  /** Rotated targets per minute that Entra's propagation allows with this many concurrent rotations. */
  readonly propagationPerMinute: number;
  /** The lower of the two, and which one it is. */
  readonly perMinute: number;
  readonly bindingLimit: 'qualys' | 'propagation';
}

const MINUTE_MS = 60_000;

export function throughputBounds(inputs: BoundInputs): Bounds {
  const roundsPerMinute = (inputs.qualysLimit * (MINUTE_MS / inputs.qualysWindowMs)) / inputs.callsPerRound;
  const targetsPerRound = inputs.batchMaxPairs / inputs.pairsPerTarget;
  const qualysPerMinute = roundsPerMinute * targetsPerRound;
  const rotationMs =
    inputs.propagationMs + inputs.batchWindowMs + inputs.criticalPathCalls * inputs.latencyMs;
  const propagationPerMinute = inputs.concurrency * (MINUTE_MS / rotationMs);
  return qualysPerMinute <= propagationPerMinute
    ? { qualysPerMinute, propagationPerMinute, perMinute: qualysPerMinute, bindingLimit: 'qualys' }
    : { qualysPerMinute, propagationPerMinute, perMinute: propagationPerMinute, bindingLimit: 'propagation' };
}
