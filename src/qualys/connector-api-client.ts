import type { Dispatcher } from 'undici';
import type { Logger } from 'pino';
import type { QualysHttpOptions } from '../config/types.ts';
import type { Secret } from '../util/secret.ts';
import { sleep } from '../util/sleep.ts';
import { QualysAuthError } from './errors/qualys-auth-error.ts';
import { QualysHttpStatusError } from './errors/qualys-http-status-error.ts';
import { QualysInvalidRequestError } from './errors/qualys-invalid-request-error.ts';
import { QualysNetworkError } from './errors/qualys-network-error.ts';
import { QualysRateLimitedError } from './errors/qualys-rate-limited-error.ts';
import { QualysTimeoutError } from './errors/qualys-timeout-error.ts';
import { GatewayToken } from './gateway-token.ts';
import { HttpTransport, type TransportRequest, type TransportResponse } from './http-transport.ts';
import { parseRateLimitHeaders } from './pacing-headers.ts';
import {
  looksLikeBatch,
  parseBatchResponse,
  parseJson,
  parseListResponse,
  parseSyncResponse,
  type RequestedPair,
} from './response-parsers.ts';
import { decideRetry, retryContext, type AttemptOutcome } from '../http/retry-policy.ts';
import type {
  BatchResult,
  ConnectorMapping,
  QualysOperation,
  RateLimitInfo,
  SecondaryAppBatch,
} from './types.ts';

const API_BASE = '/connectors/v1.0/azure';

interface Endpoint {
  readonly operation: QualysOperation;
  readonly method: TransportRequest['method'];
  readonly path: string;
  /** Whether repeating the call after an ambiguous failure is harmless. */
  readonly idempotent: boolean;
}

/**
 * The five endpoints of Connector release 2.13. Register is the only one that is not safe to repeat
 * blindly: a second register of a pair that the first one stored fails as "already registered".
 */
const ENDPOINTS = {
  register: {
    operation: 'register',
    method: 'POST',
    path: `${API_BASE}/registerSecondaryApplication`,
    idempotent: false,
  },
  update: {
    operation: 'update',
    method: 'PUT',
    path: `${API_BASE}/updateSecondaryApplication`,
    idempotent: true,
  },
  list: { operation: 'list', method: 'GET', path: `${API_BASE}/listSecondaryApplication`, idempotent: true },
  delete: {
    operation: 'delete',
    method: 'DELETE',
    path: `${API_BASE}/deleteSecondaryApplication`,
    idempotent: true,
  },
  sync: {
    operation: 'sync',
    method: 'POST',
    path: `${API_BASE}/syncSecondaryApplicationInRedis`,
    idempotent: true,
  },
} as const satisfies Record<string, Endpoint>;

export interface QualysClientOptions {
  readonly gatewayUrl: string;
  readonly username: string;
  readonly password: Secret;
  readonly http: QualysHttpOptions;
  readonly logger: Logger;
  /** An undici dispatcher to use instead of our own Agent (tests, proxies). */
  readonly dispatcher?: Dispatcher;
  /** Called with the pacing headers of every answer that has them. */
  readonly onRateLimit?: (info: RateLimitInfo) => void;
  /** Called once per HTTP exchange (for metrics): operation, status (0 on a transport error), duration. */
  readonly onRequest?: (event: { operation: QualysOperation; status: number; durationMs: number }) => void;
  /**
   * Called before every HTTP exchange, sign-ins included: the shared call budget. It may wait, or
   * throw a `QualysRateLimitedError` to hand the wait to the queue.
   */
  readonly beforeRequest?: (operation: QualysOperation) => Promise<void>;
  readonly now?: () => number;
  readonly random?: () => number;
}

/**
 * Client of the Qualys Connector API for Azure secondary applications. Each method makes one logical
 * call (retrying it where that is safe), returns typed results, and throws only `RotatorError`s.
 * It does not decide what to rotate and never logs a body, a secret or a token.
 */
export class QualysConnectorClient {
  readonly #options: QualysClientOptions;
  readonly #transport: HttpTransport;
  readonly #token: GatewayToken;
  readonly #now: () => number;
  #rateLimit: RateLimitInfo | undefined;

  constructor(options: QualysClientOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#transport = new HttpTransport(options.http, options.dispatcher, options.beforeRequest);
    this.#token = new GatewayToken({
      gatewayUrl: options.gatewayUrl,
      username: options.username,
      password: options.password,
      http: options.http,
      transport: this.#transport,
      logger: options.logger,
      now: this.#now,
      ...(options.random ? { random: options.random } : {}),
    });
  }

  /** The pacing headers of the most recent answer, so callers can slow down before being blocked. */
  get rateLimit(): RateLimitInfo | undefined {
    return this.#rateLimit;
  }

  /** Sign-ins made so far. */
  get signIns(): number {
    return this.#token.signIns;
  }

  /** Registers secondary apps (with their secrets) to connectors. */
  async registerSecondaryApplications(batch: SecondaryAppBatch): Promise<BatchResult> {
    return this.#batch(ENDPOINTS.register, batch);
  }

  /** Replaces the secrets of already registered secondary apps; Qualys validates them first. */
  async updateSecondaryApplications(batch: SecondaryAppBatch): Promise<BatchResult> {
    return this.#batch(ENDPOINTS.update, batch);
  }

  /** Which apps each connector has, as Qualys' cache knows it (refreshed by sync). */
  async listSecondaryApplications(): Promise<ConnectorMapping[]> {
    const response = await this.#call(ENDPOINTS.list, undefined);
    this.#expectOk(ENDPOINTS.list, response);
    return parseListResponse(parseJson('list', response.text));
  }

  /** Unregisters apps from connectors. */
  async deleteSecondaryApplications(mappings: readonly ConnectorMapping[]): Promise<BatchResult> {
    const pairs = toPairs(mappings);
    const body = JSON.stringify({ connectorMappings: toMappingObject(mappings) });
    const response = await this.#call(ENDPOINTS.delete, body);
    return this.#batchResult(ENDPOINTS.delete, response, pairs, []);
  }

  /** Pushes Qualys' stored secondary apps into the cache its connectors read. */
  async syncSecondaryApplications(): Promise<{ message: string | undefined }> {
    const response = await this.#call(ENDPOINTS.sync, undefined);
    this.#expectOk(ENDPOINTS.sync, response);
    return parseSyncResponse(response.text);
  }

  async close(): Promise<void> {
    await this.#transport.close();
  }

  async #batch(endpoint: Endpoint, batch: SecondaryAppBatch): Promise<BatchResult> {
    const pairs = toPairs(batch.mappings);
    validateBatch(endpoint.operation, batch, pairs);
    const secrets = batch.credentials.map((credential) => credential.secret.reveal());
    const body = JSON.stringify({
      connectorMappings: toMappingObject(batch.mappings),
      appCredentials: batch.credentials.map((credential) => ({
        appId: credential.appId,
        secretKey: credential.secret.reveal(),
      })),
    });
    const response = await this.#call(endpoint, body);
    return this.#batchResult(endpoint, response, pairs, secrets);
  }

  #batchResult(
    endpoint: Endpoint,
    response: TransportResponse,
    pairs: readonly RequestedPair[],
    secrets: readonly string[],
  ): BatchResult {
    if (response.status >= 200 && response.status < 300) {
      return parseBatchResponse(
        endpoint.operation,
        response.status,
        parseJson(endpoint.operation, response.text),
        pairs,
        secrets,
      );
    }
    // When every pair fails, Qualys may answer 4xx with the batch shape: report the pairs, not a status.
    if (response.status >= 400 && response.status < 500) {
      let body: unknown;
      try {
        body = JSON.parse(response.text) as unknown;
      } catch {
        body = undefined;
      }
      if (looksLikeBatch(body))
        return parseBatchResponse(endpoint.operation, response.status, body, pairs, secrets);
    }
    throw new QualysHttpStatusError(endpoint.operation, response.status);
  }

  #expectOk(endpoint: Endpoint, response: TransportResponse): void {
    if (response.status < 200 || response.status >= 300)
      throw new QualysHttpStatusError(endpoint.operation, response.status);
  }

  /**
   * One logical call: attaches the token, retries what the policy allows, signs in again once after
   * a 401, and returns the final answer. Statuses the policy gives up on are returned, not thrown, so
   * the caller can read a batch body from a 4xx.
   */
  async #call(endpoint: Endpoint, body: string | undefined): Promise<TransportResponse> {
    const { http, logger } = this.#options;
    let reauthenticated = false;
    for (let attempt = 1; ; attempt += 1) {
      const token = await this.#token.get();
      const started = this.#now();
      let outcome: AttemptOutcome;
      let response: TransportResponse | undefined;
      let failure: Error | undefined;
      try {
        response = await this.#transport.send({
          operation: endpoint.operation,
          method: endpoint.method,
          url: `${this.#options.gatewayUrl}${endpoint.path}`,
          headers: {
            authorization: `Bearer ${token.reveal()}`,
            accept: 'application/json',
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body,
        });
        outcome = { kind: 'status', status: response.status, headers: response.headers };
        this.#observe(response);
      } catch (error) {
        if (!(error instanceof QualysTimeoutError || error instanceof QualysNetworkError)) throw error;
        failure = error;
        const notSent =
          (error instanceof QualysTimeoutError && error.phase === 'connect') ||
          (error instanceof QualysNetworkError && !error.requestSent);
        outcome = { kind: notSent ? 'not-sent' : 'ambiguous' };
      }
      this.#options.onRequest?.({
        operation: endpoint.operation,
        status: response?.status ?? 0,
        durationMs: this.#now() - started,
      });

      if (response?.status === 401 && !reauthenticated) {
        // The token may have been revoked or expired early: sign in again, once per call.
        reauthenticated = true;
        this.#token.invalidate(token);
        attempt -= 1;
        continue;
      }
      if (response?.status === 401 || response?.status === 403) {
        throw new QualysAuthError(
          `Qualys ${endpoint.operation} refused our token (HTTP ${response.status}): check that user "${this.#options.username}" has the Connector API permission for Azure connectors`,
          response.status,
        );
      }
      if (response !== undefined && response.status < 300 && !this.#parsable(endpoint, response)) {
        // A 2xx we cannot read is ambiguous: retried only where repeating is harmless.
        outcome = { kind: 'ambiguous' };
      }
      const decision = decideRetry(
        outcome,
        retryContext(http, attempt, endpoint.idempotent, this.#now(), this.#options.random),
      );
      switch (decision.action) {
        case 'give-up':
          if (failure !== undefined) throw failure;
          return response as TransportResponse;
        case 'throttled':
          throw new QualysRateLimitedError(endpoint.operation, response?.status ?? 429, decision.delayMs);
        case 'wait':
        case 'retry':
          logger.warn(
            {
              service: 'qualys',
              operation: endpoint.operation,
              attempt,
              status: response?.status,
              errorCode: (failure as { code?: string } | undefined)?.code,
              delayMs: decision.delayMs,
            },
            decision.action === 'wait'
              ? 'qualys asked us to wait; retrying after the wait'
              : 'qualys call failed; retrying',
          );
          await sleep(decision.delayMs);
      }
    }
  }

  /** Whether a 2xx body can be read, so a garbled answer to a safe call is retried instead of failing. */
  #parsable(endpoint: Endpoint, response: TransportResponse): boolean {
    if (endpoint.operation === 'sync' && response.text.trim() === '') return true;
    try {
      JSON.parse(response.text);
      return true;
    } catch {
      return false;
    }
  }

  #observe(response: TransportResponse): void {
    const info = parseRateLimitHeaders(response.headers, this.#now());
    if (info === undefined) return;
    this.#rateLimit = info;
    this.#options.onRateLimit?.(info);
  }
}

function toPairs(mappings: readonly ConnectorMapping[]): RequestedPair[] {
  return mappings.flatMap((mapping) =>
    mapping.appIds.map((appId) => ({
      connectorId: mapping.connectorId.toLowerCase(),
      appId: appId.toLowerCase(),
    })),
  );
}

function toMappingObject(mappings: readonly ConnectorMapping[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const mapping of mappings) {
    const apps = (out[mapping.connectorId] ??= []);
    for (const appId of mapping.appIds) if (!apps.includes(appId)) apps.push(appId);
  }
  return out;
}

/** Catches a batch Qualys would reject as a whole, before it costs one of the few calls we have. */
function validateBatch(
  operation: QualysOperation,
  batch: SecondaryAppBatch,
  pairs: readonly RequestedPair[],
): void {
  if (pairs.length === 0)
    throw new QualysInvalidRequestError(`Qualys ${operation}: the batch maps no app to any connector`);
  const credentialApps = new Set(batch.credentials.map((credential) => credential.appId.toLowerCase()));
  const missing = [...new Set(pairs.map((pair) => pair.appId))].filter((appId) => !credentialApps.has(appId));
  if (missing.length > 0) {
    throw new QualysInvalidRequestError(
      `Qualys ${operation}: no credential given for app(s) ${missing.join(', ')}`,
    );
  }
  if (batch.credentials.some((credential) => credential.secret.length === 0)) {
    throw new QualysInvalidRequestError(`Qualys ${operation}: a credential has an empty secret`);
  }
}
