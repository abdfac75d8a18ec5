import { copyCountFault, takeCountFault, type CountFault } from '../shared/count-faults.ts';
import { readFaultsPatch, type FaultsPatchFormat } from '../shared/fault-patch.ts';
import { FaultStore, type FaultsPatchResult as SharedFaultsPatchResult } from '../shared/fault-store.ts';
import { isEntraGraphEndpoint, isGraphApi, type EntraGraphEndpoint } from './endpoints.ts';

export interface EntraGraphFaults {
  /** Added before every Graph call is answered (never to the Entra listener). */
  latencyMs: number;
  /** 0..1: fraction of Graph calls (never token, openid or msi) answered 503, drawn from the seeded PRNG. */
  errorRate: number;
  /** The next `count` matching calls answer `status` before any handler runs: no state changes. */
  failNext: { count: number; status: number; endpoints?: EntraGraphEndpoint[] };
  /** The next `count` matching calls never answer; close() releases them. */
  hangNext: { count: number; endpoints?: EntraGraphEndpoint[] };
  /** The next `count` matching calls answer 429 with Retry-After. */
  throttleNext: { count: number; retryAfterSec: number; endpoints?: EntraGraphEndpoint[] };
  /**
   * The next `count` successful addPassword calls create the key and then hang or answer 500: the
   * ambiguous failure a client must reconcile by displayName.
   */
  ambiguousAddNext: { count: number; mode: 'hang' | '500' };
}

export type FaultDecision =
  | { readonly kind: 'none' }
  | { readonly kind: 'hang' }
  | { readonly kind: 'fail'; readonly status: number }
  | { readonly kind: 'throttle'; readonly retryAfterSec: number };

export function defaultFaults(): EntraGraphFaults {
  return {
    latencyMs: 0,
    errorRate: 0,
    failNext: { count: 0, status: 503 },
    hangNext: { count: 0 },
    throttleNext: { count: 0, retryAfterSec: 1 },
    ambiguousAddNext: { count: 0, mode: '500' },
  };
}

function copyFaults(faults: EntraGraphFaults): EntraGraphFaults {
  return {
    ...faults,
    failNext: copyCountFault(faults.failNext),
    hangNext: copyCountFault(faults.hangNext),
    throttleNext: copyCountFault(faults.throttleNext),
    ambiguousAddNext: { ...faults.ambiguousAddNext },
  };
}

function take(fault: CountFault<EntraGraphEndpoint>, endpoint: EntraGraphEndpoint): boolean {
  return takeCountFault(fault, endpoint, isGraphApi);
}

/**
 * The faults in force and the seeded PRNG behind `errorRate`. When several faults match one call,
 * the first of hang, throttle, fail, random error wins and only its counter is used up.
 */
export class FaultInjector extends FaultStore<EntraGraphFaults> {
  constructor(seed: number) {
    super(seed, { defaults: defaultFaults, copy: copyFaults });
  }

  decide(endpoint: EntraGraphEndpoint): FaultDecision {
    const { hangNext, throttleNext, failNext, errorRate } = this.live;
    if (take(hangNext, endpoint)) return { kind: 'hang' };
    if (take(throttleNext, endpoint)) return { kind: 'throttle', retryAfterSec: throttleNext.retryAfterSec };
    if (take(failNext, endpoint)) return { kind: 'fail', status: failNext.status };
    // Draw only for eligible calls, so the sequence of outcomes depends on the seed and the calls alone.
    if (errorRate > 0 && isGraphApi(endpoint) && this.prng.next() < errorRate) {
      return { kind: 'fail', status: 503 };
    }
    return { kind: 'none' };
  }

  /** How this successful addPassword must end, using up one ambiguous failure when one is armed. */
  takeAmbiguousAdd(): 'hang' | '500' | undefined {
    const armed = this.live.ambiguousAddNext;
    if (armed.count <= 0) return undefined;
    armed.count--;
    return armed.mode;
  }
}

export type FaultsPatchResult = SharedFaultsPatchResult<EntraGraphFaults>;

const PATCH_FORMAT: FaultsPatchFormat<EntraGraphEndpoint, EntraGraphFaults> = {
  notAnObject: 'faults must be a JSON object',
  isEndpoint: isEntraGraphEndpoint,
  defaults: defaultFaults,
};

/** Checks a faults patch (from setFaults or the control plane), reporting every problem at once. */
export function parseFaultsPatch(value: unknown): FaultsPatchResult {
  return readFaultsPatch(value, PATCH_FORMAT, (reader, fields, patch) => {
    const failNext = reader.failFault('failNext', fields['failNext'], 503);
    if (failNext !== undefined) patch.failNext = failNext;
    const hangNext = reader.countFault('hangNext', fields['hangNext']);
    if (hangNext !== undefined) patch.hangNext = hangNext;
    const throttleNext = reader.throttleFault('throttleNext', fields['throttleNext'], () => ({}));
    if (throttleNext !== undefined) patch.throttleNext = throttleNext;
    const ambiguousAddNext = reader.objectField('ambiguousAddNext', fields['ambiguousAddNext']);
    if (ambiguousAddNext !== undefined) {
      const mode = ambiguousAddNext['mode'];
      if (mode !== 'hang' && mode !== '500') reader.problem("ambiguousAddNext.mode must be 'hang' or '500'");
      patch.ambiguousAddNext = {
        count: reader.countOf('ambiguousAddNext', ambiguousAddNext),
        mode: mode === 'hang' ? 'hang' : '500',
      };
    }
  });
}
