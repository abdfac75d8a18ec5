import { Prng } from '../shared/prng.ts';
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
  const copyEndpoints = (endpoints?: QualysEndpoint[]): { endpoints?: QualysEndpoint[] } =>
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
    malformedNext: { count: faults.malformedNext.count, ...copyEndpoints(faults.malformedNext.endpoints) },
    throttleNext: {
      count: faults.throttleNext.count,
      retryAfterSec: faults.throttleNext.retryAfterSec,
      ...(faults.throttleNext.status === undefined ? {} : { status: faults.throttleNext.status }),
      ...copyEndpoints(faults.throttleNext.endpoints),
    },
    staleListNext: faults.staleListNext,
  };
}

function appliesTo(endpoints: readonly QualysEndpoint[] | undefined, endpoint: QualysEndpoint): boolean {
  return endpoints === undefined ? isConnectorApi(endpoint) : endpoints.includes(endpoint);
}

/**
 * The faults in force and the seeded PRNG behind `errorRate`. When several faults match one call,
 * the first of hang, throttle, fail, malformed, random error wins and only its counter is used up.
 */
export class FaultInjector {
  #faults = defaultFaults();
  readonly #prng: Prng;

  constructor(seed: number) {
    this.#prng = new Prng(seed);
  }

  current(): QualysFaults {
    return copyFaults(this.#faults);
  }

  /** Merges field by field: a field given replaces the one in force, whole. Expects a checked patch. */
  set(patch: Partial<QualysFaults>): void {
    this.#faults = copyFaults({ ...this.#faults, ...patch });
  }

  reset(): void {
    this.#faults = defaultFaults();
  }

  get latencyMs(): number {
    return this.#faults.latencyMs;
  }

  decide(endpoint: QualysEndpoint, defaultThrottleStatus: 429 | 409): FaultDecision {
    const { hangNext, throttleNext, failNext, malformedNext, errorRate } = this.#faults;
    if (hangNext.count > 0 && appliesTo(hangNext.endpoints, endpoint)) {
      hangNext.count--;
      return { kind: 'hang' };
    }
    if (throttleNext.count > 0 && appliesTo(throttleNext.endpoints, endpoint)) {
      throttleNext.count--;
      return {
        kind: 'throttle',
        status: throttleNext.status ?? defaultThrottleStatus,
        retryAfterSec: throttleNext.retryAfterSec,
      };
    }
    if (failNext.count > 0 && appliesTo(failNext.endpoints, endpoint)) {
      failNext.count--;
      return { kind: 'fail', status: failNext.status };
    }
    if (malformedNext.count > 0 && appliesTo(malformedNext.endpoints, endpoint)) {
      malformedNext.count--;
      return { kind: 'malformed' };
    }
    // Draw only for eligible calls, so the sequence of outcomes depends on the seed and the calls alone.
    if (errorRate > 0 && isConnectorApi(endpoint) && this.#prng.next() < errorRate) {
      return { kind: 'fail', status: this.#prng.pick([500, 502, 503]) };
    }
    return { kind: 'none' };
  }

  /** True when this list call must serve the pre-sync cache; uses up one stale read. */
  takeStaleList(): boolean {
    if (this.#faults.staleListNext <= 0) return false;
    this.#faults.staleListNext--;
    return true;
  }
}

export type FaultsPatchResult =
  | { readonly ok: true; readonly patch: Partial<QualysFaults> }
  | { readonly ok: false; readonly problems: readonly string[] };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

/** Checks a faults patch that arrived as JSON on the control plane, reporting every problem at once. */
export function parseFaultsPatch(value: unknown): FaultsPatchResult {
  if (!isRecord(value)) return { ok: false, problems: ['body must be a JSON object'] };
  const problems: string[] = [];
  const known = new Set(Object.keys(defaultFaults()));
  for (const key of Object.keys(value)) if (!known.has(key)) problems.push(`${key} is not a fault`);

  const endpointsOf = (field: string, raw: Record<string, unknown>): { endpoints?: QualysEndpoint[] } => {
    const endpoints = raw['endpoints'];
    if (endpoints === undefined) return {};
    if (!Array.isArray(endpoints) || !endpoints.every(isQualysEndpoint)) {
      problems.push(`${field}.endpoints must be an array of endpoint names`);
      return {};
    }
    return { endpoints };
  };
  const countOf = (field: string, raw: Record<string, unknown>): number => {
    if (!isCount(raw['count'])) problems.push(`${field}.count must be a non-negative integer`);
    return isCount(raw['count']) ? raw['count'] : 0;
  };

  const patch: Partial<QualysFaults> = {};
  const { latencyMs, errorRate, failNext, hangNext, malformedNext, throttleNext, staleListNext } = value;
  if (latencyMs !== undefined) {
    if (isCount(latencyMs)) patch.latencyMs = latencyMs;
    else problems.push('latencyMs must be a non-negative integer');
  }
  if (errorRate !== undefined) {
    if (typeof errorRate === 'number' && errorRate >= 0 && errorRate <= 1) patch.errorRate = errorRate;
    else problems.push('errorRate must be a number from 0 to 1');
  }
  if (staleListNext !== undefined) {
    if (isCount(staleListNext)) patch.staleListNext = staleListNext;
    else problems.push('staleListNext must be a non-negative integer');
  }
  if (failNext !== undefined) {
    if (!isRecord(failNext)) problems.push('failNext must be an object');
    else {
      const status = failNext['status'];
      const validStatus =
        typeof status === 'number' && Number.isInteger(status) && status >= 100 && status <= 599;
      if (!validStatus) problems.push('failNext.status must be an HTTP status code');
      patch.failNext = {
        count: countOf('failNext', failNext),
        status: validStatus ? status : 500,
        ...endpointsOf('failNext', failNext),
      };
    }
  }
  if (hangNext !== undefined) {
    if (!isRecord(hangNext)) problems.push('hangNext must be an object');
    else patch.hangNext = { count: countOf('hangNext', hangNext), ...endpointsOf('hangNext', hangNext) };
  }
  if (malformedNext !== undefined) {
    if (!isRecord(malformedNext)) problems.push('malformedNext must be an object');
    else
      patch.malformedNext = {
        count: countOf('malformedNext', malformedNext),
        ...endpointsOf('malformedNext', malformedNext),
      };
  }
  if (throttleNext !== undefined) {
    if (!isRecord(throttleNext)) problems.push('throttleNext must be an object');
    else {
      const retryAfterSec = throttleNext['retryAfterSec'];
      const status = throttleNext['status'];
      if (!isCount(retryAfterSec)) problems.push('throttleNext.retryAfterSec must be a non-negative integer');
      if (status !== undefined && status !== 429 && status !== 409) {
        problems.push('throttleNext.status must be 429 or 409');
      }
      patch.throttleNext = {
        count: countOf('throttleNext', throttleNext),
        retryAfterSec: isCount(retryAfterSec) ? retryAfterSec : 1,
        ...(status === 429 || status === 409 ? { status } : {}),
        ...endpointsOf('throttleNext', throttleNext),
      };
    }
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, patch };
}
