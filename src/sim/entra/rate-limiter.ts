export type RateVerdict =
  { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSec: number };

interface Window {
  startMs: number;
  used: number;
}

/**
 * Graph's throttling, simplified to one fixed window per tenant that starts with the tenant's first
 * request. Refused requests are not counted, so a client that waits out Retry-After gets its quota.
 */
export class TenantRateLimiter {
  readonly #limit: { readonly limit: number; readonly windowMs: number } | undefined;
  readonly #windows = new Map<string, Window>();

  constructor(limit: { readonly limit: number; readonly windowMs: number } | undefined) {
    this.#limit = limit;
  }

  take(tenantId: string, nowMs: number): RateVerdict {
    if (this.#limit === undefined) return { allowed: true };
    const key = tenantId.toLowerCase();
    let window = this.#windows.get(key);
    if (window === undefined || nowMs >= window.startMs + this.#limit.windowMs) {
      window = { startMs: nowMs, used: 0 };
      this.#windows.set(key, window);
    }
    if (window.used >= this.#limit.limit) {
      const waitMs = window.startMs + this.#limit.windowMs - nowMs;
      return { allowed: false, retryAfterSec: Math.max(1, Math.ceil(waitMs / 1000)) };
    }
    window.used++;
    return { allowed: true };
  }
}
