import { createDefaultHttpClient, type HttpClient } from '@azure/core-rest-pipeline';
import { ClientSecretCredential, type TokenCredential } from '@azure/identity';
import type { Logger } from 'pino';
import type { AzureConfig, TenantConfig } from '../config/types.ts';
import { isRotatorError, type RotatorError } from '../errors/rotator-error.ts';
import { requestedWaitMs } from '../http/retry-after.ts';
import { backoffDelayMs } from '../util/backoff.ts';
import { Secret } from '../util/secret.ts';
import { sleep } from '../util/sleep.ts';
import { classifyGraphFailure } from './classify-graph-failure.ts';
import { EntraReadinessTimeoutError } from './errors/entra-readiness-timeout-error.ts';
import { GraphAppNotFoundError } from './errors/graph-app-not-found-error.ts';
import { EntraSecretRejectedError } from './errors/entra-secret-rejected-error.ts';
import { GraphTransportError } from './errors/graph-transport-error.ts';
import { GraphThrottledError } from './errors/graph-throttled-error.ts';
import {
  APP_SELECT,
  fieldsOf,
  graphErrorDetail,
  parseApplication,
  parsePasswordCredential,
} from './graph-model.ts';
import { GraphCallFailure, GraphSession } from './graph-session.ts';
import { describeIdentityFailure, NOT_YET_PROPAGATED } from './identity-errors.ts';
import { createTenantCredential, identityOptions } from './tenant-credential.ts';
import type {
  AddPasswordRequest,
  AppRef,
  AzureRequestEvent,
  NewPassword,
  ReadinessResult,
  SecondaryApp,
} from './types.ts';

/** Graph's limit of requests in one `$batch`. */
const BATCH_LIMIT = 20;
/** Above this many apps in one tenant, one paged listing (999 a page) costs fewer calls than batches. */
const LISTING_THRESHOLD = 3 * BATCH_LIMIT;
const LIST_PAGE_SIZE = 999;
/** The readiness probe backs off up to this interval. */
const MAX_PROBE_INTERVAL_MS = 30_000;

export interface ApplicationDirectoryOptions {
  readonly azure: AzureConfig;
  readonly logger: Logger;
  readonly onRequest?: (event: AzureRequestEvent) => void;
  /** Replaces the credential the configuration describes (tests of other credential kinds). */
  readonly credentialFor?: (tenant: TenantConfig) => TokenCredential;
  readonly now?: () => number;
  readonly random?: () => number;
}

/**
 * The secondary apps as Entra ID and Microsoft Graph hold them: read their password credentials (many
 * at a time, cheaply), add and remove passwords, and wait until Entra accepts a new secret. One Graph
 * session per tenant, made on first use. It decides nothing about rotation.
 */
export class ApplicationDirectory {
  readonly #options: ApplicationDirectoryOptions;
  readonly #sessions = new Map<string, GraphSession>();
  readonly #now: () => number;

  /**
   * Shared by every readiness probe. Each probe is a credential of its own (the new secret), and a
   * credential left to itself builds its own HTTP client: a keep-alive agent, a TLS handshake and an idle
   * socket per rotation, which at a few hundred concurrent rotations was most of the worker's memory.
   */
  readonly #probeHttpClient: HttpClient = createDefaultHttpClient();

  constructor(options: ApplicationDirectoryOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** One app with its password credentials. */
  async readApp(ref: AppRef): Promise<SecondaryApp> {
    const body = await this.#send(ref.tenantId, {
      operation: 'readApp',
      method: 'GET',
      path: `${appPath(ref)}?$select=${APP_SELECT.join(',')}`,
      idempotent: true,
      subject: ref,
    });
    return expectApp(ref, parseApplication(ref.tenantId, body));
  }

  /**
   * Many apps, keyed by appId, each an app or the classified error of its own read. Costs one paged
   * listing for a tenant with many targets, otherwise one `$batch` call per 20 apps.
   */
  async readApps(refs: readonly AppRef[]): Promise<Map<string, SecondaryApp | RotatorError>> {
    const byTenant = new Map<string, AppRef[]>();
    for (const ref of refs) byTenant.set(ref.tenantId, [...(byTenant.get(ref.tenantId) ?? []), ref]);
    const results = new Map<string, SecondaryApp | RotatorError>();
    for (const [tenantId, tenantRefs] of byTenant) {
      let remaining = tenantRefs;
      if (tenantRefs.length > LISTING_THRESHOLD) {
        const listed = await this.#listOwnedApps(tenantId);
        for (const ref of tenantRefs) {
          const app = listed.get(ref.appId.toLowerCase());
          if (app) results.set(ref.appId.toLowerCase(), app);
        }
        // What the listing did not show is read one by one, so each gets its own 404 or 403.
        remaining = tenantRefs.filter((ref) => !results.has(ref.appId.toLowerCase()));
      }
      for (let start = 0; start < remaining.length; start += BATCH_LIMIT) {
        const chunk = remaining.slice(start, start + BATCH_LIMIT);
        for (const [appId, result] of await this.#readBatch(tenantId, chunk)) results.set(appId, result);
      }
    }
    return results;
  }

  /**
   * Creates a password. Never repeated blindly: `addPassword` is not idempotent, so after an ambiguous
   * failure (timeout, 5xx) the key is looked up by its displayName and removed before trying again,
   * since its secret text is lost with the answer.
   */
  async addPassword(app: SecondaryApp, request: AddPasswordRequest): Promise<NewPassword> {
    const { graph } = this.#options.azure;
    const lifetimeMs =
      request.endDateTime.getTime() - (request.startDateTime ?? new Date(this.#now())).getTime();
    const subject = { ...app, requestedLifetimeDays: Math.round(lifetimeMs / 86_400_000) };
    for (let attempt = 1; ; attempt += 1) {
      try {
        const body = await this.#send(app.tenantId, {
          operation: 'addPassword',
          method: 'POST',
          path: `/applications/${app.objectId}/addPassword`,
          body: {
            passwordCredential: {
              displayName: request.displayName,
              endDateTime: request.endDateTime.toISOString(),
              ...(request.startDateTime ? { startDateTime: request.startDateTime.toISOString() } : {}),
            },
          },
          idempotent: false,
          subject,
        });
        return toNewPassword(app.appId, body);
      } catch (error) {
        // A garbled answer to a successful add is as ambiguous as no answer: the key exists, its text is lost.
        const ambiguous =
          error instanceof GraphCallFailure ? error.ambiguous : error instanceof GraphTransportError;
        if (!ambiguous) throw unwrap(error);
        const cause = unwrap(error);
        const removed = await this.reconcileAfterAmbiguousAdd(app, request.displayName);
        this.#options.logger.warn(
          {
            tenantId: app.tenantId,
            appId: app.appId,
            attempt,
            removedKeys: removed.length,
            errorCode: cause.code,
          },
          'addPassword ended ambiguously; removed any key it may have created',
        );
        if (attempt >= graph.maxAttempts) throw cause;
        await sleep(
          backoffDelayMs(
            attempt,
            { baseDelayMs: graph.retryBaseDelayMs, maxDelayMs: graph.retryMaxDelayMs },
            this.#options.random,
          ),
        );
      }
    }
  }

  /** Removes every key named `displayName` (ours, from an attempt whose answer was lost). */
  async reconcileAfterAmbiguousAdd(app: SecondaryApp, displayName: string): Promise<string[]> {
    const current = await this.readApp(app);
    const orphans = current.passwords.filter((password) => password.displayName === displayName);
    for (const orphan of orphans) await this.removePassword(current, orphan.keyId);
    return orphans.map((orphan) => orphan.keyId);
  }

  /** Removes a password; `absent` when it was already gone (removal is idempotent for us). */
  async removePassword(
    app: Pick<SecondaryApp, 'tenantId' | 'appId' | 'objectId'>,
    keyId: string,
  ): Promise<'removed' | 'absent'> {
    try {
      await this.#send(app.tenantId, {
        operation: 'removePassword',
        method: 'POST',
        path: `/applications/${app.objectId}/removePassword`,
        body: { keyId },
        idempotent: true,
        subject: app,
      });
      return 'removed';
    } catch (error) {
      const inner = unwrap(error);
      if (
        'graphCode' in inner &&
        inner.graphCode === 'Request_BadRequest' &&
        /no password credential/i.test(inner.message)
      ) {
        return 'absent';
      }
      throw inner;
    }
  }

  /**
   * Polls Entra with a client-credentials request made with the new secret until it is accepted, with
   * backoff, or until `timeoutMs` passes. AADSTS7000215 (and AADSTS700016 for a young app) means "not
   * yet". The token obtained is dropped at once.
   */
  async waitUntilAccepted(
    ref: AppRef,
    secret: Secret,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<ReadinessResult> {
    const { azure, logger, onRequest, random } = this.#options;
    const timeoutMs = options.timeoutMs ?? azure.readinessTimeoutMs;
    const credential = new ClientSecretCredential(ref.tenantId, ref.appId, secret.reveal(), {
      ...identityOptions(azure),
      httpClient: this.#probeHttpClient,
    });
    const started = this.#now();
    let interval = azure.readinessPollIntervalMs;
    for (let attempts = 1; ; attempts += 1) {
      const probeStarted = performance.now();
      try {
        await credential.getToken(azure.graphScope, options.signal ? { abortSignal: options.signal } : {});
        onRequest?.({
          service: 'entra',
          tenantId: ref.tenantId,
          operation: 'probe',
          status: 200,
          durationMs: performance.now() - probeStarted,
        });
        return { attempts, waitedMs: this.#now() - started };
      } catch (error) {
        onRequest?.({
          service: 'entra',
          tenantId: ref.tenantId,
          operation: 'probe',
          status: 401,
          durationMs: performance.now() - probeStarted,
        });
        options.signal?.throwIfAborted();
        const failure = describeIdentityFailure(error);
        const notYet =
          failure.unreachable || (failure.aadsts !== undefined && NOT_YET_PROPAGATED.has(failure.aadsts));
        if (!notYet) {
          throw new EntraSecretRejectedError(
            `Entra refused the new secret of app ${ref.appId} in tenant ${ref.tenantId}: ${failure.aadsts === undefined ? '' : `AADSTS${failure.aadsts} `}${failure.summary}`,
            failure.aadsts,
          );
        }
        logger.debug(
          { tenantId: ref.tenantId, appId: ref.appId, attempts, aadsts: failure.aadsts },
          'new secret not accepted yet',
        );
      }
      const delay = Math.round(interval * (0.5 + (random ?? Math.random)() / 2));
      if (this.#now() - started + delay > timeoutMs) {
        throw new EntraReadinessTimeoutError(ref.appId, this.#now() - started, attempts);
      }
      await sleep(delay, options.signal);
      interval = Math.min(interval * 1.5, MAX_PROBE_INTERVAL_MS);
    }
  }

  async #listOwnedApps(tenantId: string): Promise<Map<string, SecondaryApp>> {
    const apps = new Map<string, SecondaryApp>();
    let path: string | undefined = `/applications?$select=${APP_SELECT.join(',')}&$top=${LIST_PAGE_SIZE}`;
    while (path !== undefined) {
      const body = await this.#send(tenantId, {
        operation: 'listApps',
        method: 'GET',
        path,
        idempotent: true,
        subject: { tenantId, appId: '(listing)' },
      });
      const page = fieldsOf(body);
      if (!Array.isArray(page.value))
        throw new GraphTransportError('Graph answered an application listing without a value list');
      for (const entry of page.value) {
        const app = parseApplication(tenantId, entry);
        apps.set(app.appId, app);
      }
      path = typeof page['@odata.nextLink'] === 'string' ? page['@odata.nextLink'] : undefined;
    }
    return apps;
  }

  /** Reads up to 20 apps in one `$batch`, retrying the sub-requests Graph throttled or failed. */
  async #readBatch(
    tenantId: string,
    refs: readonly AppRef[],
  ): Promise<Map<string, SecondaryApp | RotatorError>> {
    const { graph } = this.#options.azure;
    const results = new Map<string, SecondaryApp | RotatorError>();
    let pending = refs.map((ref, index) => ({ ref, id: String(index) }));
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      const body = await this.#send(tenantId, {
        operation: 'batch',
        method: 'POST',
        path: '/$batch',
        body: {
          requests: pending.map(({ ref, id }) => ({
            id,
            method: 'GET',
            url: `${appPath(ref)}?$select=${APP_SELECT.join(',')}`,
          })),
        },
        idempotent: true,
        subject: { tenantId, appId: '(batch)' },
      });
      const responses = fieldsOf(body).responses;
      if (!Array.isArray(responses))
        throw new GraphTransportError('Graph answered a $batch without responses');
      const retry: typeof pending = [];
      let waitMs = 0;
      for (const item of pending) {
        const response = responses.find((candidate: unknown) => fieldsOf(candidate).id === item.id) as
          { status?: unknown; headers?: Record<string, string>; body?: unknown } | undefined;
        const appId = item.ref.appId.toLowerCase();
        const status = typeof response?.status === 'number' ? response.status : 0;
        if (status === 200) {
          try {
            results.set(appId, expectApp(item.ref, parseApplication(tenantId, response?.body)));
          } catch (error) {
            results.set(appId, unwrap(error));
          }
          continue;
        }
        const retryAfterMs = requestedWaitMs(response?.headers ?? {}, this.#now());
        const transient = status === 0 || status === 429 || status >= 500;
        if (transient && attempt < graph.maxAttempts && (retryAfterMs ?? 0) <= graph.maxThrottleWaitMs) {
          retry.push(item);
          waitMs = Math.max(
            waitMs,
            retryAfterMs ??
              backoffDelayMs(
                attempt,
                { baseDelayMs: graph.retryBaseDelayMs, maxDelayMs: graph.retryMaxDelayMs },
                this.#options.random,
              ),
          );
          continue;
        }
        const detail = graphErrorDetail(response?.body);
        results.set(
          appId,
          status === 0
            ? new GraphTransportError(`Graph $batch gave no answer for app ${appId}`)
            : status === 429
              ? new GraphThrottledError('batch', retryAfterMs ?? 60_000)
              : classifyGraphFailure(
                  'readApp',
                  {
                    status,
                    graphCode: detail.code,
                    graphMessage: detail.message,
                    retryAfterMs,
                    headers: response?.headers ?? {},
                  },
                  item.ref,
                ),
        );
      }
      pending = retry;
      if (pending.length > 0) await sleep(waitMs);
    }
    return results;
  }

  async #send(tenantId: string, call: Parameters<GraphSession['send']>[0]): Promise<unknown> {
    try {
      return await this.#session(tenantId).send(call);
    } catch (error) {
      if (error instanceof GraphCallFailure && call.operation === 'addPassword') throw error;
      throw unwrap(error);
    }
  }

  #session(tenantId: string): GraphSession {
    let session = this.#sessions.get(tenantId);
    if (session === undefined) {
      const tenant = this.#options.azure.tenants.find((candidate) => candidate.id === tenantId.toLowerCase());
      if (tenant === undefined) throw new Error(`tenant ${tenantId} is not configured in azure.tenants`);
      session = new GraphSession({
        tenantId,
        credentialKind: tenant.auth.kind,
        credential:
          this.#options.credentialFor?.(tenant) ?? createTenantCredential(tenant, this.#options.azure),
        azure: this.#options.azure,
        logger: this.#options.logger,
        onRequest: this.#options.onRequest,
        ...(this.#options.now ? { now: this.#options.now } : {}),
        ...(this.#options.random ? { random: this.#options.random } : {}),
      });
      this.#sessions.set(tenantId, session);
    }
    return session;
  }
}

/**
 * An app read by object id must be the app the target names: a wrong `objectId` in the configuration
 * must not make the rotator change another app's secrets.
 */
function expectApp(ref: AppRef, app: SecondaryApp): SecondaryApp {
  if (app.appId === ref.appId.toLowerCase()) return app;
  throw new GraphAppNotFoundError(
    `object id ${ref.objectId ?? '?'} in tenant ${ref.tenantId} belongs to app ${app.appId}, not to app ${ref.appId}: fix targets[].objectId (or remove it)`,
  );
}

function appPath(ref: AppRef): string {
  return ref.objectId === undefined ? `/applications(appId='${ref.appId}')` : `/applications/${ref.objectId}`;
}

/** The classified error inside a call failure; anything else is rethrown as it is. */
function unwrap(error: unknown): RotatorError {
  if (error instanceof GraphCallFailure) return error.error;
  if (isRotatorError(error)) return error;
  throw error;
}

function toNewPassword(appId: string, body: unknown): NewPassword {
  const info = parsePasswordCredential(appId, body);
  const secretText = (body as { secretText?: unknown }).secretText;
  if (typeof secretText !== 'string' || secretText === '') {
    throw new GraphTransportError(
      `Graph created a password on app ${appId} but answered without its secret text`,
    );
  }
  return { ...info, secret: new Secret(secretText) };
}
