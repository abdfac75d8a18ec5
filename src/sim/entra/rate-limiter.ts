import { FixedWindowRateLimiter } from '../shared/fixed-window-rate-limiter.ts';

export type RateVerdict =
  { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSec: number };

/**
 * Graph's throttling, simplified to one fixed window per tenant that starts with the tenant's first
 * request. Refused requests are not counted, so a client that waits out Retry-After gets its quota.
 */
export class TenantRateLimiter {
  readonly #limit: { readonly limit: number; readonly windowMs: number } | undefined;
  readonly #windows = new Map<string, FixedWindowRateLimiter>();

  constructor(limit: { readonly limit: number; readonly windowMs: number } | undefined) {
    this.#limit = limit;
  }

  take(tenantId: string, nowMs: number): RateVerdict {
    if (this.#limit === undefined) return { allowed: true };
    const key = tenantId.toLowerCase();
    let window = this.#windows.get(key);
    if (window === undefined) {
      window = new FixedWindowRateLimiter(this.#limit.limit, this.#limit.windowMs);
      this.#windows.set(key, window);
    }
    const verdict = window.take(nowMs);
    return verdict.allowed ? { allowed: true } : { allowed: false, retryAfterSec: verdict.toWaitSec };
  }
}
