import type { TokenCredential } from '@azure/identity';
import {
  Client,
  GraphError,
  HTTPMessageHandler,
  type Context,
  type Middleware,
} from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js';
import { AuthenticationHandler } from '@microsoft/microsoft-graph-client';
import type { Logger } from 'pino';
import type { AzureConfig } from '../config/types.ts';
import type { RotatorError } from '../errors/rotator-error.ts';
import { decideRetry, retryContext, type AttemptOutcome } from '../http/retry-policy.ts';
import { requestedWaitMs } from '../http/retry-after.ts';
import { sleep } from '../util/sleep.ts';
import {
  classifyGraphFailure,
  type GraphFailure,
  type GraphFailureSubject,
} from './classify-graph-failure.ts';
import { EntraCredentialError } from './errors/entra-credential-error.ts';
import { GraphTransportError } from './errors/graph-transport-error.ts';
import { GraphThrottledError } from './errors/graph-throttled-error.ts';
import { graphErrorDetail } from './graph-model.ts';
import { describeIdentityFailure } from './identity-errors.ts';
import type { AzureRequestEvent, GraphOperation } from './types.ts';

export interface GraphSessionOptions {
  readonly tenantId: string;
  readonly credentialKind: string;
  readonly credential: TokenCredential;
  readonly azure: AzureConfig;
  readonly logger: Logger;
  readonly onRequest?: ((event: AzureRequestEvent) => void) | undefined;
  readonly now?: () => number;
  readonly random?: () => number;
}

export interface GraphCall {
  readonly operation: GraphOperation;
  readonly method: 'GET' | 'POST';
  /** Relative to the version, e.g. `/applications(appId='…')`, or an absolute `@odata.nextLink`. */
  readonly path: string;
  readonly body?: unknown;
  /** Whether repeating after an ambiguous failure is harmless (reads, removePassword). */
  readonly idempotent: boolean;
  readonly subject: GraphFailureSubject;
}

/** Outcome of a call that did not succeed: a classified error, or `ambiguous` for a caller to reconcile. */
export class GraphCallFailure extends Error {
  readonly error: RotatorError;
  /** The request may have been processed (timeout, broken connection, 5xx). */
  readonly ambiguous: boolean;

  constructor(error: RotatorError, ambiguous: boolean) {
    super(error.message);
    this.error = error;
    this.ambiguous = ambiguous;
  }
}

/** Counts and times every exchange, between authentication and the network. */
class ObservingMiddleware implements Middleware {
  #next: Middleware | undefined;
  readonly #observe: (status: number, durationMs: number, context: Context) => void;
  constructor(observe: (status: number, durationMs: number, context: Context) => void) {
    this.#observe = observe;
  }
  async execute(context: Context): Promise<void> {
    const started = performance.now();
    try {
      await this.#next?.execute(context);
    } finally {
      this.#observe(context.response?.status ?? 0, performance.now() - started, context);
    }
  }
  setNext(next: Middleware): void {
    this.#next = next;
  }
}

/**
 * Graph for one tenant, as the rotator's identity there: the official client with our own retry
 * policy in place of its RetryHandler (which would repeat addPassword on 503 and create a second key).
 * Every failure leaves as a classified `RotatorError`; tokens never leave this object.
 */
export class GraphSession {
  readonly tenantId: string;
  readonly #options: GraphSessionOptions;
  readonly #client: Client;
  readonly #now: () => number;
  #operation: GraphOperation = 'readApp';

  constructor(options: GraphSessionOptions) {
    this.#options = options;
    this.tenantId = options.tenantId;
    this.#now = options.now ?? Date.now;
    const { azure } = options;
    const auth = new AuthenticationHandler(
      new TokenCredentialAuthenticationProvider(options.credential, { scopes: [azure.graphScope] }),
    );
    const observe = new ObservingMiddleware((status, durationMs) => {
      const event = {
        service: 'graph',
        tenantId: options.tenantId,
        operation: this.#operation,
        status,
        durationMs,
      } as const;
      options.logger.debug({ ...event, durationMs: Math.round(durationMs) }, 'graph request');
      options.onRequest?.(event);
    });
    auth.setNext(observe);
    observe.setNext(new HTTPMessageHandler());
    this.#client = Client.initWithMiddleware({
      middleware: auth,
      baseUrl: azure.graphEndpoint,
      defaultVersion: 'v1.0',
      // The client attaches the bearer token only to hosts it knows; ours may be sovereign or local.
      customHosts: new Set([new URL(azure.graphEndpoint).hostname]),
    });
  }

  /**
   * Gets a token before the call, so that a credential problem surfaces classified (the Graph client
   * would wrap it in a GraphError and lose Entra's AADSTS code). Cheap: identity caches tokens.
   */
  async #ensureToken(): Promise<void> {
    try {
      await this.#options.credential.getToken(this.#options.azure.graphScope);
    } catch (error) {
      const failure = describeIdentityFailure(error);
      const code = failure.aadsts === undefined ? '' : ` AADSTS${failure.aadsts}`;
      throw new EntraCredentialError(
        `the rotator could not sign in to tenant ${this.tenantId} with its ${this.#options.credentialKind} credential:${code} ${failure.summary}`,
        failure.unreachable ? 'transient' : 'permanent',
        failure.aadsts,
      );
    }
  }

  /** Sends one call with retries where the policy allows; returns the parsed body. */
  async send(call: GraphCall): Promise<unknown> {
    const { azure, logger } = this.#options;
    await this.#ensureToken();
    for (let attempt = 1; ; attempt += 1) {
      let failure: GraphFailure | undefined;
      let transport: string | undefined;
      try {
        this.#operation = call.operation;
        const request = this.#client
          .api(call.path)
          .option('signal', AbortSignal.timeout(azure.graph.requestTimeoutMs));
        return call.method === 'GET'
          ? ((await request.get()) as unknown)
          : ((await request.post(call.body)) as unknown);
      } catch (error) {
        ({ failure, transport } = this.#describe(error));
      }
      const outcome: AttemptOutcome =
        failure === undefined
          ? { kind: 'ambiguous' }
          : { kind: 'status', status: failure.status, headers: failure.headers };
      const decision = decideRetry(
        outcome,
        retryContext(azure.graph, attempt, call.idempotent, this.#now(), this.#options.random),
      );
      switch (decision.action) {
        case 'throttled':
          throw new GraphCallFailure(new GraphThrottledError(call.operation, decision.delayMs), false);
        case 'give-up': {
          if (failure === undefined) {
            throw new GraphCallFailure(
              new GraphTransportError(
                `Graph ${call.operation} got no usable answer (${transport ?? 'unknown'})`,
              ),
              true,
            );
          }
          const error = classifyGraphFailure(call.operation, failure, call.subject);
          throw new GraphCallFailure(error, failure.status >= 500);
        }
        case 'wait':
        case 'retry':
          logger.warn(
            {
              service: 'graph',
              tenantId: this.tenantId,
              operation: call.operation,
              attempt,
              status: failure?.status,
              transport,
              delayMs: decision.delayMs,
            },
            decision.action === 'wait'
              ? 'graph asked us to wait; retrying after the wait'
              : 'graph call failed; retrying',
          );
          await sleep(decision.delayMs);
      }
    }
  }

  #describe(error: unknown): { failure?: GraphFailure; transport?: string } {
    if (error instanceof GraphError && error.statusCode > 0) {
      const headers: Record<string, string> = {};
      error.headers?.forEach((value, key) => (headers[key] = value));
      const detail =
        error.code === null ? graphErrorDetail(error.body) : { code: error.code, message: error.message };
      return {
        failure: {
          status: error.statusCode,
          graphCode: detail.code,
          graphMessage: detail.message,
          retryAfterMs: requestedWaitMs(headers, this.#now()),
          headers,
        },
      };
    }
    // statusCode -1: no HTTP answer (timeout, network, unparsable body); the client keeps the cause's name.
    const name =
      error instanceof GraphError ? (error.code ?? 'Error') : error instanceof Error ? error.name : 'unknown';
    return { transport: name };
  }
}
