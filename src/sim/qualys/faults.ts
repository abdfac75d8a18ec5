import { copyCountFault, takeCountFault, type CountFault } from '../shared/count-faults.ts';
import { isCount, readFaultsPatch, type FaultsPatchFormat } from '../shared/fault-patch.ts';
import { FaultStore, type FaultsPatchResult as SharedFaultsPatchResult } from '../shared/fault-store.ts';
import { isConnectorApi, isQualysEndpoint, type QualysEndpoint } from './endpoints.ts';

export interface QualysFaults {
  /** Added to every response. */
  latencyMs: number;
  /** 0..1: fraction of connector API calls (never /auth) answered 500/502/503, drawn from the seeded PRNG. */
  errorRate: number;
  /** The next `count` matching calls answer `status` with a small JSON error body. */
  failNext: { count: number; status: number; endpoints?: QualysEndpoint[] };
  /** The next `count` matching calls never answer; the socket stays open until the client or close() ends it. */
  hangNext: { count: number; endpoints?: QualysEndpoint[] };
  /** The next `count` matching calls answer 200 with a body that is not valid JSON. */
  malformedNext: { count: number; endpoints?: QualysEndpoint[] };
  /** The next `count` matching calls are throttled with Retry-After and X-RateLimit-ToWait-Sec. */
  throttleNext: { count: number; retryAfterSec: number; status?: 429 | 409; endpoints?: QualysEndpoint[] };
  /** The next N list calls return the cache as it was before the last sync. */
  staleListNext: number;
}

export type FaultDecision =
  | { readonly kind: 'none' }
  | { readonly kind: 'hang' }
  | { readonly kind: 'fail'; readonly status: number }
  | { readonly kind: 'malformed' }
  | { readonly kind: 'throttle'; readonly status: 429 | 409; readonly retryAfterSec: number };

export function defaultFaults(): QualysFaults {
  return {
    latencyMs: 0,
    errorRate: 0,
    failNext: { count: 0, status: 500 },
    hangNext: { count: 0 },
    malformedNext: { count: 0 },
    throttleNext: { count: 0, retryAfterSec: 1 },
    staleListNext: 0,
  };
}

function copyFaults(faults: QualysFaults): QualysFaults {
  return {
    ...faults,
    failNext: copyCountFault(faults.failNext),
    hangNext: copyCountFault(faults.hangNext),
    malformedNext: copyCountFault(faults.malformedNext),
    throttleNext: copyCountFault(faults.throttleNext),
  };
}

function take(fault: CountFault<QualysEndpoint>, endpoint: QualysEndpoint): boolean {
  return takeCountFault(fault, endpoint, isConnectorApi);
}

/**
 * The faults in force and the seeded PRNG behind `errorRate`. When several faults match one call,
 * the first of hang, throttle, fail, malformed, random error wins and only its counter is used up.
 */
export class FaultInjector extends FaultStore<QualysFaults> {
  constructor(seed: number) {
    super(seed, { defaults: defaultFaults, copy: copyFaults });
  }

  decide(endpoint: QualysEndpoint, defaultThrottleStatus: 429 | 409): FaultDecision {
    const { hangNext, throttleNext, failNext, malformedNext, errorRate } = this.live;
    if (take(hangNext, endpoint)) return { kind: 'hang' };
    if (take(throttleNext, endpoint)) {
      return {
        kind: 'throttle',
        status: throttleNext.status ?? defaultThrottleStatus,
        retryAfterSec: throttleNext.retryAfterSec,
      };
    }
    if (take(failNext, endpoint)) return { kind: 'fail', status: failNext.status };
    if (take(malformedNext, endpoint)) return { kind: 'malformed' };
    // Draw only for eligible calls, so the sequence of outcomes depends on the seed and the calls alone.
    if (errorRate > 0 && isConnectorApi(endpoint) && this.prng.next() < errorRate) {
      return { kind: 'fail', status: this.prng.pick([500, 502, 503]) };
    }
    return { kind: 'none' };
  }

  /** True when this list call must serve the pre-sync cache; uses up one stale read. */
  takeStaleList(): boolean {
    if (this.live.staleListNext <= 0) return false;
    this.live.staleListNext--;
    return true;
  }
}

export type FaultsPatchResult = SharedFaultsPatchResult<QualysFaults>;

const PATCH_FORMAT: FaultsPatchFormat<QualysEndpoint, QualysFaults> = {
  notAnObject: 'body must be a JSON object',
  isEndpoint: isQualysEndpoint,
  defaults: defaultFaults,
};

/** Checks a faults patch that arrived as JSON on the control plane, reporting every problem at once. */
export function parseFaultsPatch(value: unknown): FaultsPatchResult {
  return readFaultsPatch(value, PATCH_FORMAT, (reader, fields, patch) => {
    const { staleListNext } = fields;
    if (staleListNext !== undefined) {
      if (isCount(staleListNext)) patch.staleListNext = staleListNext;
      else reader.problem('staleListNext must be a non-negative integer');
    }
    const failNext = reader.failFault('failNext', fields['failNext'], 500);
    if (failNext !== undefined) patch.failNext = failNext;
    const hangNext = reader.countFault('hangNext', fields['hangNext']);
    if (hangNext !== undefined) patch.hangNext = hangNext;
    const malformedNext = reader.countFault('malformedNext', fields['malformedNext']);
    if (malformedNext !== undefined) patch.malformedNext = malformedNext;
    const throttleNext = reader.throttleFault(
      'throttleNext',
      fields['throttleNext'],
      (fault): { status?: 429 | 409 } => {
        const status = fault['status'];
        if (status !== undefined && status !== 429 && status !== 409) {
          reader.problem('throttleNext.status must be 429 or 409');
        }
        return status === 429 || status === 409 ? { status } : {};
      },
    );
    if (throttleNext !== undefined) patch.throttleNext = throttleNext;
  });
}
