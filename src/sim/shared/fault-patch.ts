import type { BaseFaults, FaultsPatchResult } from './fault-store.ts';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

/**
 * Reads a faults patch field by field, collecting every problem instead of stopping at the first; a
 * field with a problem reads as its fallback, and `result` then reports the problems alone.
 */
export class FaultPatchReader<E extends string> {
  readonly #isEndpoint: (value: unknown) => value is E;
  readonly #problems: string[] = [];

  constructor(isEndpoint: (value: unknown) => value is E) {
    this.#isEndpoint = isEndpoint;
  }

  problem(message: string): void {
    this.#problems.push(message);
  }

  /** Reports each key of `value` that is not one of `known`. */
  unknownKeys(value: Record<string, unknown>, known: object): void {
    const names = new Set(Object.keys(known));
    for (const key of Object.keys(value)) if (!names.has(key)) this.problem(`${key} is not a fault`);
  }

  /** Reads `latencyMs` and `errorRate` of `value` into `patch` when given. */
  baseFaults(value: Record<string, unknown>, patch: Partial<BaseFaults>): void {
    const { latencyMs, errorRate } = value;
    if (latencyMs !== undefined) {
      if (isCount(latencyMs)) patch.latencyMs = latencyMs;
      else this.problem('latencyMs must be a non-negative integer');
    }
    if (errorRate !== undefined) {
      if (typeof errorRate === 'number' && errorRate >= 0 && errorRate <= 1) patch.errorRate = errorRate;
      else this.problem('errorRate must be a number from 0 to 1');
    }
  }

  /** The field as an object, undefined when absent (or, with a problem, when not an object). */
  objectField(field: string, raw: unknown): Record<string, unknown> | undefined {
    if (raw === undefined) return undefined;
    if (!isRecord(raw)) this.problem(`${field} must be an object`);
    return isRecord(raw) ? raw : undefined;
  }

  /** A non-negative integer field of `raw` (`count` unless named), or the fallback. */
  countOf(field: string, raw: Record<string, unknown>, key = 'count', fallback = 0): number {
    const value = raw[key];
    if (!isCount(value)) this.problem(`${field}.${key} must be a non-negative integer`);
    return isCount(value) ? value : fallback;
  }

  /** `field.status` as an HTTP status code, or the fallback. */
  statusOf(field: string, raw: Record<string, unknown>, fallback: number): number {
    const status = raw['status'];
    const valid = typeof status === 'number' && Number.isInteger(status) && status >= 100 && status <= 599;
    if (!valid) this.problem(`${field}.status must be an HTTP status code`);
    return valid ? status : fallback;
  }

  /** A copy of `field.endpoints` when given and valid, else nothing. */
  endpointsOf(field: string, raw: Record<string, unknown>): { endpoints?: E[] } {
    const endpoints = raw['endpoints'];
    if (endpoints === undefined) return {};
    if (!Array.isArray(endpoints) || !endpoints.every(this.#isEndpoint)) {
      this.problem(`${field}.endpoints must be an array of endpoint names`);
      return {};
    }
    return { endpoints: [...endpoints] };
  }

  /** The count fault `field` with just its count and endpoints, undefined when absent or not an object. */
  countFault(field: string, raw: unknown): { count: number; endpoints?: E[] } | undefined {
    const fault = this.objectField(field, raw);
    return fault && { count: this.countOf(field, fault), ...this.endpointsOf(field, fault) };
  }

  /** The fail fault `field`: its status (or `fallbackStatus`), count and endpoints. */
  failFault(
    field: string,
    raw: unknown,
    fallbackStatus: number,
  ): { count: number; status: number; endpoints?: E[] } | undefined {
    const fault = this.objectField(field, raw);
    if (fault === undefined) return undefined;
    const status = this.statusOf(field, fault, fallbackStatus);
    return { count: this.countOf(field, fault), status, ...this.endpointsOf(field, fault) };
  }

  /**
   * The throttle fault `field`: its count, retryAfterSec (default 1) and endpoints, with whatever
   * `readMore` reads of it (checked after retryAfterSec) in between.
   */
  throttleFault<X extends object>(
    field: string,
    raw: unknown,
    readMore: (fault: Record<string, unknown>) => X,
  ): ({ count: number; retryAfterSec: number; endpoints?: E[] } & X) | undefined {
    const fault = this.objectField(field, raw);
    if (fault === undefined) return undefined;
    const retryAfterSec = this.countOf(field, fault, 'retryAfterSec', 1);
    const more = readMore(fault);
    return { count: this.countOf(field, fault), retryAfterSec, ...more, ...this.endpointsOf(field, fault) };
  }

  result<F>(patch: Partial<F>): FaultsPatchResult<F> {
    return this.#problems.length > 0 ? { ok: false, problems: [...this.#problems] } : { ok: true, patch };
  }
}

export interface FaultsPatchFormat<E extends string, F extends BaseFaults> {
  /** The one problem reported when the patch is not an object. */
  readonly notAnObject: string;
  readonly isEndpoint: (value: unknown) => value is E;
  /** The faults in force after a reset: their keys are the only ones a patch may hold. */
  readonly defaults: () => F;
}

/**
 * Checks a faults patch, reporting every problem at once: unknown keys, then latencyMs and errorRate,
 * then what `readFaults` reads of the simulator's own faults into the patch.
 */
export function readFaultsPatch<E extends string, F extends BaseFaults>(
  value: unknown,
  format: FaultsPatchFormat<E, F>,
  readFaults: (reader: FaultPatchReader<E>, fields: Record<string, unknown>, patch: Partial<F>) => void,
): FaultsPatchResult<F> {
  if (!isRecord(value)) return { ok: false, problems: [format.notAnObject] };
  const reader = new FaultPatchReader(format.isEndpoint);
  reader.unknownKeys(value, format.defaults());
  const patch: Partial<F> = {};
  reader.baseFaults(value, patch);
  readFaults(reader, value, patch);
  return reader.result(patch);
}
