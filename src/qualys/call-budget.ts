import type { Cluster, Redis } from 'ioredis';
import { QualysRateLimitedError } from './errors/qualys-rate-limited-error.ts';
import type { QualysOperation } from './types.ts';

/**
 * The rotator's share of the Qualys subscription's API limit, counted in Redis so that every replica
 * draws from one budget: a fixed window of `windowMs` holding at most `calls` calls. A call past the
 * budget is not made; the caller gets a rate-limit error carrying the time left in the window, and
 * the queue pauses for it.
 */
export class QualysCallBudget {
  readonly #redis: Redis | Cluster;
  readonly #keyPrefix: string;
  readonly #calls: number;
  readonly #windowMs: number;
  readonly #now: () => number;

  constructor(
    redis: Redis | Cluster,
    keyPrefix: string,
    budget: { calls: number; windowMs: number },
    now: () => number = Date.now,
  ) {
    this.#redis = redis;
    this.#keyPrefix = keyPrefix;
    this.#calls = budget.calls;
    this.#windowMs = budget.windowMs;
    this.#now = now;
  }

  async take(operation: QualysOperation): Promise<void> {
    const now = this.#now();
    const window = Math.floor(now / this.#windowMs);
    const key = `${this.#keyPrefix}:qualys-budget:${window}`;
    const used = await this.#redis.incr(key);
    if (used === 1) await this.#redis.pexpire(key, this.#windowMs * 2);
    if (used > this.#calls) {
      throw new QualysRateLimitedError(
        `${operation} (call budget of ${this.#calls} per ${Math.round(this.#windowMs / 1000)} s spent)`,
        429,
        (window + 1) * this.#windowMs - now,
      );
    }
  }

  /** Calls used in the current window (for status and metrics). */
  async used(): Promise<number> {
    const key = `${this.#keyPrefix}:qualys-budget:${Math.floor(this.#now() / this.#windowMs)}`;
    return Number((await this.#redis.get(key)) ?? 0);
  }
}
