import { Prng } from '../shared/prng.ts';
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
  const copyEndpoints = (endpoints?: EntraGraphEndpoint[]): { endpoints?: EntraGraphEndpoint[] } =>
    endpoints === undefined ? {} : { endpoints: [...endpoints] };
  return {
    latencyMs: faults.latencyMs,
    errorRate: faults.errorRate,
    failNext: {
      count: faults.failNext.count,
      status: faults.failNext.status,
      ...copyEndpoints(faults.failNext.endpoints),
    },
    hangNext: { count: faults.hangNext.count, ...copyEndpoints(faults.hangNext.endpoints) },
    throttleNext: {
      count: faults.throttleNext.count,
      retryAfterSec: faults.throttleNext.retryAfterSec,
      ...copyEndpoints(faults.throttleNext.endpoints),
    },
    ambiguousAddNext: { count: faults.ambiguousAddNext.count, mode: faults.ambiguousAddNext.mode },
  };
}

function appliesTo(
  endpoints: readonly EntraGraphEndpoint[] | undefined,
  endpoint: EntraGraphEndpoint,
): boolean {
  return endpoints === undefined ? isGraphApi(endpoint) : endpoints.includes(endpoint);
}

/**
 * The faults in force and the seeded PRNG behind `errorRate`. When several faults match one call,
 * the first of hang, throttle, fail, random error wins and only its counter is used up.
 */
export class FaultInjector {
  #faults = defaultFaults();
  readonly #prng: Prng;

  constructor(seed: number) {
    this.#prng = new Prng(seed);
  }

  current(): EntraGraphFaults {
    return copyFaults(this.#faults);
  }

  /** Merges field by field: a field given replaces the one in force, whole. Expects a checked patch. */
  set(patch: Partial<EntraGraphFaults>): void {
    this.#faults = copyFaults({ ...this.#faults, ...patch });
  }

  reset(): void {
    this.#faults = defaultFaults();
  }

  get latencyMs(): number {
    return this.#faults.latencyMs;
  }

  decide(endpoint: EntraGraphEndpoint): FaultDecision {
    const { hangNext, throttleNext, failNext, errorRate } = this.#faults;
    if (hangNext.count > 0 && appliesTo(hangNext.endpoints, endpoint)) {
      hangNext.count--;
      return { kind: 'hang' };
    }
    if (throttleNext.count > 0 && appliesTo(throttleNext.endpoints, endpoint)) {
      throttleNext.count--;
      return { kind: 'throttle', retryAfterSec: throttleNext.retryAfterSec };
    }
    if (failNext.count > 0 && appliesTo(failNext.endpoints, endpoint)) {
      failNext.count--;
      return { kind: 'fail', status: failNext.status };
    }
    // Draw only for eligible calls, so the sequence of outcomes depends on the seed and the calls alone.
    if (errorRate > 0 && isGraphApi(endpoint) && this.#prng.next() < errorRate) {
      return { kind: 'fail', status: 503 };
    }
    return { kind: 'none' };
  }

  /** How this successful addPassword must end, using up one ambiguous failure when one is armed. */
  takeAmbiguousAdd(): 'hang' | '500' | undefined {
    const armed = this.#faults.ambiguousAddNext;
    if (armed.count <= 0) return undefined;
    armed.count--;
    return armed.mode;
  }
}

export type FaultsPatchResult =
  | { readonly ok: true; readonly patch: Partial<EntraGraphFaults> }
  | { readonly ok: false; readonly problems: readonly string[] };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

/** Checks a faults patch (from setFaults or the control plane), reporting every problem at once. */
export function parseFaultsPatch(value: unknown): FaultsPatchResult {
  if (!isRecord(value)) return { ok: false, problems: ['faults must be a JSON object'] };
  const problems: string[] = [];
  const known = new Set(Object.keys(defaultFaults()));
  for (const key of Object.keys(value)) if (!known.has(key)) problems.push(`${key} is not a fault`);

  const endpointsOf = (field: string, raw: Record<string, unknown>): { endpoints?: EntraGraphEndpoint[] } => {
    const endpoints = raw['endpoints'];
    if (endpoints === undefined) return {};
    if (!Array.isArray(endpoints) || !endpoints.every(isEntraGraphEndpoint)) {
      problems.push(`${field}.endpoints must be an array of endpoint names`);
      return {};
    }
    return { endpoints: [...endpoints] };
  };
  const countOf = (field: string, raw: Record<string, unknown>): number => {
    if (!isCount(raw['count'])) problems.push(`${field}.count must be a non-negative integer`);
    return isCount(raw['count']) ? raw['count'] : 0;
  };
  const objectField = (field: string, raw: unknown): Record<string, unknown> | undefined => {
    if (raw === undefined) return undefined;
    if (!isRecord(raw)) problems.push(`${field} must be an object`);
    return isRecord(raw) ? raw : undefined;
  };

  const patch: Partial<EntraGraphFaults> = {};
  const { latencyMs, errorRate } = value;
  if (latencyMs !== undefined) {
    if (isCount(latencyMs)) patch.latencyMs = latencyMs;
    else problems.push('latencyMs must be a non-negative integer');
  }
  if (errorRate !== undefined) {
    if (typeof errorRate === 'number' && errorRate >= 0 && errorRate <= 1) patch.errorRate = errorRate;
    else problems.push('errorRate must be a number from 0 to 1');
  }
  const failNext = objectField('failNext', value['failNext']);
  if (failNext !== undefined) {
    const status = failNext['status'];
    const validStatus =
      typeof status === 'number' && Number.isInteger(status) && status >= 100 && status <= 599;
    if (!validStatus) problems.push('failNext.status must be an HTTP status code');
    patch.failNext = {
      count: countOf('failNext', failNext),
      status: validStatus ? status : 503,
      ...endpointsOf('failNext', failNext),
    };
  }
  const hangNext = objectField('hangNext', value['hangNext']);
  if (hangNext !== undefined) {
    patch.hangNext = { count: countOf('hangNext', hangNext), ...endpointsOf('hangNext', hangNext) };
  }
  const throttleNext = objectField('throttleNext', value['throttleNext']);
  if (throttleNext !== undefined) {
    const retryAfterSec = throttleNext['retryAfterSec'];
    if (!isCount(retryAfterSec)) problems.push('throttleNext.retryAfterSec must be a non-negative integer');
    patch.throttleNext = {
      count: countOf('throttleNext', throttleNext),
      retryAfterSec: isCount(retryAfterSec) ? retryAfterSec : 1,
      ...endpointsOf('throttleNext', throttleNext),
    };
  }
  const ambiguousAddNext = objectField('ambiguousAddNext', value['ambiguousAddNext']);
  if (ambiguousAddNext !== undefined) {
    const mode = ambiguousAddNext['mode'];
    if (mode !== 'hang' && mode !== '500') problems.push("ambiguousAddNext.mode must be 'hang' or '500'");
    patch.ambiguousAddNext = {
      count: countOf('ambiguousAddNext', ambiguousAddNext),
      mode: mode === 'hang' ? 'hang' : '500',
    };
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, patch };
}
