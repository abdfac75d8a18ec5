import type { Logger } from 'pino';
import { Secret } from '../util/secret.ts';
import { sleep } from '../util/sleep.ts';
import { QualysAuthError } from './errors/qualys-auth-error.ts';
import { QualysRateLimitedError } from './errors/qualys-rate-limited-error.ts';
import { QualysHttpStatusError } from './errors/qualys-http-status-error.ts';
import { QualysMalformedResponseError } from './errors/qualys-malformed-response-error.ts';
import { QualysNetworkError } from './errors/qualys-network-error.ts';
import { QualysTimeoutError } from './errors/qualys-timeout-error.ts';
import type { HttpTransport, TransportResponse } from './http-transport.ts';
import { jwtExpiresAtMs } from './jwt.ts';
import { decideRetry, retryContext, type AttemptOutcome } from '../http/retry-policy.ts';
import type { QualysHttpOptions } from '../config/types.ts';

/** Qualys documents a 4-hour token; used when the token does not carry a readable `exp`. */
const DOCUMENTED_TOKEN_LIFETIME_MS = 4 * 3_600_000;

export interface GatewayTokenOptions {
  readonly gatewayUrl: string;
  readonly username: string;
  readonly password: Secret;
  readonly http: QualysHttpOptions;
  readonly transport: HttpTransport;
  readonly logger: Logger;
  readonly now: () => number;
  readonly random?: () => number;
}

interface CachedToken {
  readonly token: Secret;
  readonly refreshAtMs: number;
}

/**
 * The gateway's bearer token: fetched with `POST /auth`, cached until shortly before its `exp`,
 * dropped after a 401. Concurrent callers share one in-flight request, so a burst of calls after
 * expiry costs one sign-in, not one per call.
 */
export class GatewayToken {
  readonly #options: GatewayTokenOptions;
  #cached: CachedToken | undefined;
  #inFlight: Promise<CachedToken> | undefined;
  #signIns = 0;

  constructor(options: GatewayTokenOptions) {
    this.#options = options;
  }

  /** How many sign-ins were made (for tests and metrics). */
  get signIns(): number {
    return this.#signIns;
  }

  async get(): Promise<Secret> {
    const cached = this.#cached;
    if (cached !== undefined && this.#options.now() < cached.refreshAtMs) return cached.token;
    this.#inFlight ??= this.#signIn().finally(() => {
      this.#inFlight = undefined;
    });
    return (await this.#inFlight).token;
  }

  /** Forgets `token` after the gateway refused it, unless a newer token has replaced it already. */
  invalidate(token: Secret): void {
    if (this.#cached?.token === token) this.#cached = undefined;
  }

  async #signIn(): Promise<CachedToken> {
    const { http, now, logger } = this.#options;
    const body = new URLSearchParams({
      username: this.#options.username,
      password: this.#options.password.reveal(),
      token: 'true',
    }).toString();
    for (let attempt = 1; ; attempt += 1) {
      let response: TransportResponse | undefined;
      let failure: Error | undefined;
      try {
        response = await this.#options.transport.send({
          operation: 'auth',
          method: 'POST',
          url: `${this.#options.gatewayUrl}/auth`,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body,
        });
      } catch (error) {
        if (!(error instanceof QualysTimeoutError || error instanceof QualysNetworkError)) throw error;
        failure = error;
      }
      if (response?.status === 200 || response?.status === 201) return this.#accept(response.text);
      if (response?.status === 401 || response?.status === 403) {
        throw new QualysAuthError(
          `Qualys gateway refused the sign-in of user "${this.#options.username}" (HTTP ${response.status}): check qualys.username and the password secret, and that the user may use the API`,
          response.status,
        );
      }
      // Signing in twice is harmless, so every failure counts as safe to repeat.
      const outcome: AttemptOutcome =
        response === undefined
          ? { kind: 'ambiguous' }
          : { kind: 'status', status: response.status, headers: response.headers };
      const decision = decideRetry(outcome, retryContext(http, attempt, true, now(), this.#options.random));
      switch (decision.action) {
        case 'throttled':
          throw new QualysRateLimitedError('auth', response?.status ?? 429, decision.delayMs);
        case 'give-up':
          throw failure ?? new QualysHttpStatusError('auth', response?.status ?? 0);
        case 'wait':
        case 'retry':
          logger.warn(
            { operation: 'auth', attempt, status: response?.status, delayMs: decision.delayMs },
            'qualys sign-in failed; retrying',
          );
          await sleep(decision.delayMs);
      }
    }
  }

  #accept(text: string): CachedToken {
    const token = text.trim();
    // A JWT is printable ASCII; anything else cannot travel in an Authorization header (undici refuses
    // it before sending, which would read as a network failure), so the answer itself is malformed.
    if (!/^[\x21-\x7e]+$/.test(token)) {
      throw new QualysMalformedResponseError('auth', 'expected the token as plain text');
    }
    const { now, http } = this.#options;
    const issuedAt = now();
    const expiresAt = jwtExpiresAtMs(token) ?? issuedAt + DOCUMENTED_TOKEN_LIFETIME_MS;
    // Refresh ahead of expiry, but never sooner than halfway through a short-lived token's life.
    const refreshAtMs = Math.max(
      issuedAt + (expiresAt - issuedAt) / 2,
      expiresAt - http.tokenRefreshBeforeExpiryMs,
    );
    this.#signIns += 1;
    const cached = { token: new Secret(token), refreshAtMs };
    this.#cached = cached;
    this.#options.logger.debug(
      { operation: 'auth', expiresAt: new Date(expiresAt).toISOString() },
      'qualys token acquired',
    );
    return cached;
  }
}
