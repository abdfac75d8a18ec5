export interface RateLimitVerdict {
  readonly allowed: boolean;
  readonly remaining: number;
  /** Whole seconds until the current window resets, at least 1. */
  readonly toWaitSec: number;
}

/**
 * A fixed-window quota (the Qualys gateway's per user, Graph's per tenant): the window starts with the
 * first call and resets `windowMs` later. Blocked calls are not counted, so a client that backs off
 * correctly gets its full quota in the next window.
 */
export class FixedWindowRateLimiter {
  readonly limit: number;
  readonly windowMs: number;
  #windowStartMs: number | undefined;
  #used = 0;

  constructor(limit: number, windowMs: number) {
    this.limit = limit;
    this.windowMs = windowMs;
  }

  get windowSec(): number {
    return Math.max(1, Math.ceil(this.windowMs / 1000));
  }

  take(nowMs: number): RateLimitVerdict {
    this.#roll(nowMs);
    this.#windowStartMs ??= nowMs;
    if (this.#used >= this.limit) return { allowed: false, remaining: 0, toWaitSec: this.#toWaitSec(nowMs) };
    this.#used++;
    return { allowed: true, remaining: this.limit - this.#used, toWaitSec: this.#toWaitSec(nowMs) };
  }

  remaining(nowMs: number): number {
    this.#roll(nowMs);
    return Math.max(0, this.limit - this.#used);
  }

  #roll(nowMs: number): void {
    if (this.#windowStartMs !== undefined && nowMs >= this.#windowStartMs + this.windowMs) {
      this.#windowStartMs = undefined;
      this.#used = 0;
    }
  }

  #toWaitSec(nowMs: number): number {
    const endMs = (this.#windowStartMs ?? nowMs) + this.windowMs;
    return Math.max(1, Math.ceil((endMs - nowMs) / 1000));
  }
}
