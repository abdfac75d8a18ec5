import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { sleep } from '../../util/sleep.ts';
import { checkedFaultsPatch } from '../shared/fault-store.ts';
import {
  mediaTypeOf,
  parseJsonText,
  readBody,
  textReply,
  writeReply,
  type SimReply,
} from '../shared/http-helpers.ts';
import { CallLog, type SimCall } from './call-log.ts';
import { CONTROL_PLANE_PREFIX, handleControlPlane, type ControlPlaneTarget } from './control-plane.ts';
import {
  DirectoryState,
  passwordView,
  sameText,
  type NewApp,
  type NewPassword,
  type SimApp,
  type SimClient,
  type SimPassword,
} from './directory-state.ts';
import type { EntraGraphEndpoint } from './endpoints.ts';
import { routeEntraRequest } from './entra-router.ts';
import { entraRouteOf, MSI_PATH } from './entra-routes.ts';
import { FaultInjector, parseFaultsPatch, type EntraGraphFaults } from './faults.ts';
import { graphError, type GraphRequestIds } from './graph-errors.ts';
import { routeGraphRequest, safeDecode, type GraphRouterContext } from './graph-router.ts';
import { graphRouteOf } from './graph-routes.ts';
import { AccessTokenIssuer } from './jwt.ts';
import type { ManagedIdentity } from './msi-endpoint.ts';
import { resolveOptions, type EntraGraphSimulatorOptions, type ResolvedOptions } from './options.ts';
import { twoYearsAfter } from './password-request.ts';
import { TenantRateLimiter } from './rate-limiter.ts';
import { newSecretText } from './secret-text.ts';

export type { SimCall } from './call-log.ts';
export type { EntraSimStateView } from './control-plane.ts';
export type { SimApp, SimClient, SimPassword } from './directory-state.ts';
export type { EntraGraphEndpoint } from './endpoints.ts';
export type { EntraGraphFaults } from './faults.ts';
export type { EntraGraphSimulatorOptions } from './options.ts';

export interface SeedPasswordOptions {
  displayName?: string | null;
  startDateTime?: string;
  endDateTime?: string;
  /** Default true: the secret works at once. False: it waits out propagationDelayMs like a new one. */
  propagated?: boolean;
}

function listen(server: Server, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

function originOf(address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `https://${host}:${address.port}`;
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function dateOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new TypeError(`seedPassword: ${name} is not a date`);
  return ms;
}

interface Arrival {
  readonly endpoint: EntraGraphEndpoint;
  readonly method: string;
  readonly path: string;
  readonly at: number;
  readonly tenantId: string | undefined;
}

/**
 * Entra ID and Microsoft Graph as the rotator sees them: two HTTPS listeners on loopback sharing one
 * directory. The Entra one serves the discovery document and the client-credentials token endpoint
 * (which the real @azure/identity uses), and the App Service managed-identity endpoint; the Graph one
 * serves the application operations the rotator needs, $batch, per-tenant throttling and faults.
 */
export class EntraGraphSimulator {
  /** `https://127.0.0.1:PORT`, no trailing slash: the authorityHost for @azure/identity. */
  readonly authorityHost: string;
  /** `https://127.0.0.1:PORT`, no trailing slash; Graph paths are under /v1.0. */
  readonly graphEndpoint: string;
  /** The IDENTITY_ENDPOINT of the App Service managed-identity protocol. */
  readonly msiEndpoint: string;
  /** The IDENTITY_HEADER value that endpoint requires in X-IDENTITY-HEADER. */
  readonly msiHeader: string;

  readonly #entraServer: Server;
  readonly #graphServer: Server;
  readonly #options: ResolvedOptions;
  readonly #directory = new DirectoryState();
  readonly #issuer = new AccessTokenIssuer();
  readonly #faults: FaultInjector;
  readonly #limiter: TenantRateLimiter;
  readonly #log = new CallLog();
  readonly #issuedSecrets = new Set<string>();
  readonly #hung = new Set<ServerResponse>();
  /** Aborts pending latency sleeps, so close() never waits for an injected delay. */
  readonly #closing = new AbortController();
  #closed: Promise<void> | undefined;
  #managedIdentity: ManagedIdentity | undefined;

  private constructor(
    servers: { entra: Server; graph: Server },
    origins: { entra: string; graph: string },
    options: ResolvedOptions,
  ) {
    this.#entraServer = servers.entra;
    this.#graphServer = servers.graph;
    this.authorityHost = origins.entra;
    this.graphEndpoint = origins.graph;
    this.msiEndpoint = `${origins.entra}${MSI_PATH}`;
    this.msiHeader = randomBytes(24).toString('base64url');
    this.#options = options;
    this.#faults = new FaultInjector(options.seed);
    this.#limiter = new TenantRateLimiter(options.graphRateLimit);
  }

  static async start(options: EntraGraphSimulatorOptions): Promise<EntraGraphSimulator> {
    const resolved = resolveOptions(options);
    const entra = createServer({ cert: resolved.tls.cert, key: resolved.tls.key });
    const graph = createServer({ cert: resolved.tls.cert, key: resolved.tls.key });
    const [entraAddress, graphAddress] = await Promise.all([
      listen(entra, resolved.host),
      listen(graph, resolved.host),
    ]);
    const simulator = new EntraGraphSimulator(
      { entra, graph },
      { entra: originOf(entraAddress), graph: originOf(graphAddress) },
      resolved,
    );
    entra.on('request', (req: IncomingMessage, res: ServerResponse) => {
      void simulator.#onEntraRequest(req, res);
    });
    graph.on('request', (req: IncomingMessage, res: ServerResponse) => {
      void simulator.#onGraphRequest(req, res);
    });
    return simulator;
  }

  /** Stops both listeners and ends every connection, hung ones included. Safe to call twice. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing.abort();
      for (const res of this.#hung) res.destroy();
      this.#hung.clear();
      const closed = [this.#entraServer, this.#graphServer].map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => {
              resolve();
            });
            server.closeAllConnections();
          }),
      );
      await Promise.all(closed);
    })();
    return this.#closed;
  }

  /** Registers an identity the rotator signs in as; its secret and federated token count as issued secrets. */
  addClient(client: SimClient): void {
    this.#directory.addClient(client);
    if (client.secret !== undefined) this.#issuedSecrets.add(client.secret);
    if (client.federatedToken !== undefined) this.#issuedSecrets.add(client.federatedToken);
  }

  /** Random UUIDs for the ids not given. */
  addApp(app: NewApp): SimApp {
    return this.#directory.addApp(app, Date.now());
  }

  /** A password that existed before the test: no ownership, policy or limit checks. */
  seedPassword(appId: string, options: SeedPasswordOptions = {}): { keyId: string; secretText: string } {
    const nowMs = Date.now();
    const startMs = dateOption(options.startDateTime, 'startDateTime') ?? nowMs;
    const endMs = dateOption(options.endDateTime, 'endDateTime') ?? twoYearsAfter(startMs);
    const password: NewPassword = {
      keyId: randomUUID(),
      displayName: options.displayName ?? null,
      startMs,
      endMs,
      secretText: newSecretText(),
      createdAtMs: nowMs,
      usableFromMs: options.propagated === false ? nowMs + this.#options.propagationDelayMs : 0,
    };
    this.#directory.addPassword(appId, password);
    this.#issuedSecrets.add(password.secretText);
    return { keyId: password.keyId, secretText: password.secretText };
  }

  /** The app's password credentials as Graph shows them: never the secret text. */
  passwords(appId: string): SimPassword[] {
    return this.#directory.passwords(appId).map(passwordView);
  }

  /**
   * The secret text of one of the app's passwords (undefined when there is none with this keyId), so a
   * test can follow a key from Entra to the connector that holds it. Never served over HTTP.
   */
  secretTextOf(appId: string, keyId: string): string | undefined {
    if (this.#directory.appByAppId(appId) === undefined) return undefined;
    return this.#directory
      .passwords(appId)
      .find((password) => password.keyId.toLowerCase() === keyId.toLowerCase())?.secretText;
  }

  /** Would the token endpoint accept this secret for the app at `atMs` (propagated, started, not expired)? */
  acceptsSecret(appId: string, secretText: string, atMs: number = Date.now()): boolean {
    const app = this.#directory.appByAppId(appId);
    if (app === undefined) return false;
    const clientSecret = this.#directory.client(app.tenantId, app.appId)?.secret;
    if (clientSecret !== undefined && sameText(clientSecret, secretText)) return true;
    return this.#directory.checkAppSecret(appId, secretText, atMs) === 'valid';
  }

  /** Merges into the faults in force (a field given replaces that field whole). */
  setFaults(faults: Partial<EntraGraphFaults>): void {
    this.#faults.set(checkedFaultsPatch(faults, parseFaultsPatch));
  }

  resetFaults(): void {
    this.#faults.reset();
  }

  faults(): EntraGraphFaults {
    return this.#faults.current();
  }

  /** Who the managed-identity endpoint signs in as; undefined: no identity is assigned. */
  setManagedIdentity(identity: { tenantId: string; clientId: string } | undefined): void {
    if (identity !== undefined) this.#directory.addTenant(identity.tenantId);
    this.#managedIdentity = identity && { tenantId: identity.tenantId, clientId: identity.clientId };
  }

  /** Every secret text created (addPassword, seedPassword) and every client secret or federated token registered. */
  issuedSecrets(): readonly string[] {
    return [...this.#issuedSecrets];
  }

  /** Every access token issued, by the token and the managed-identity endpoints. */
  issuedTokens(): readonly string[] {
    return this.#issuer.issued();
  }

  calls(): readonly SimCall[] {
    return this.#log.all();
  }

  /** A $batch counts once, as 'batch'; its sub-requests are counted by batchedRequestCount. */
  callCount(endpoint?: EntraGraphEndpoint): number {
    return this.#log.count(endpoint);
  }

  /** Sub-requests received inside $batch calls, all of them or those of one endpoint. */
  batchedRequestCount(endpoint?: EntraGraphEndpoint): number {
    return this.#log.batchedCount(endpoint);
  }

  readonly #controlPlane: ControlPlaneTarget = {
    stateView: () => ({
      apps: this.#directory.apps().map((app) => ({ ...app, passwords: this.passwords(app.appId) })),
      clients: this.#directory.clients().map(({ tenantId, clientId }) => ({ tenantId, clientId })),
      managedIdentity: this.#managedIdentity ?? null,
      callCounts: { ...this.#log.countsByEndpoint(), total: this.#log.count() },
      batchedRequestCounts: { ...this.#log.batchedCountsByEndpoint(), total: this.#log.batchedCount() },
      faults: this.#faults.current(),
    }),
    setFaults: (patch) => {
      this.#faults.set(patch);
    },
    resetFaults: () => {
      this.#faults.reset();
    },
  };

  async #onEntraRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'https://entra.invalid');
    const path = safeDecode(url.pathname);
    const route = entraRouteOf(path);
    // Logged as registered: MSAL lower-cases the authority, so the paths' spelling varies.
    const pathTenant =
      route.tenantId === undefined ? undefined : (this.#directory.tenant(route.tenantId) ?? route.tenantId);
    const tenantId = route.endpoint === 'msi' ? this.#managedIdentity?.tenantId : pathTenant;
    const arrival: Arrival = { endpoint: route.endpoint, method, path, at, tenantId };
    try {
      const body = await readBody(req, this.#options.maxBodyBytes);
      const reply = routeEntraRequest(
        {
          method,
          route,
          query: url.searchParams,
          mediaType: mediaTypeOf(req),
          body: body.kind === 'ok' ? body.text : '',
          identityHeader: headerValue(req, 'x-identity-header'),
          correlationId: headerValue(req, 'client-request-id') ?? randomUUID(),
          nowMs: Date.now(),
        },
        {
          directory: this.#directory,
          issuer: this.#issuer,
          faults: this.#faults,
          authorityHost: this.authorityHost,
          graphEndpoint: this.graphEndpoint,
          tokenTtlSec: this.#options.tokenTtlSec,
          managedIdentity: this.#managedIdentity,
          msiHeader: this.msiHeader,
        },
      );
      this.#finish(res, reply, arrival);
    } catch {
      if (!this.#closing.signal.aborted) {
        this.#finish(res, textReply(500, 'Simulator internal error'), arrival);
      }
    }
  }

  async #onGraphRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'https://graph.invalid');
    const path = safeDecode(url.pathname);
    const requestId = randomUUID();
    const ids: GraphRequestIds = {
      requestId,
      clientRequestId: headerValue(req, 'client-request-id') ?? requestId,
    };
    const idHeaders = { 'request-id': ids.requestId, 'client-request-id': ids.clientRequestId };
    if (path.startsWith(CONTROL_PLANE_PREFIX)) {
      const body = await readBody(req, this.#options.maxBodyBytes);
      writeReply(res, handleControlPlane(method, path, body, this.#controlPlane));
      return;
    }

    const at = Date.now();
    const route = graphRouteOf(path);
    const auth = this.#issuer.verify(req.headers.authorization, this.graphEndpoint, at);
    const arrival: Arrival = {
      endpoint: route.endpoint,
      method,
      path,
      at,
      tenantId: auth.ok ? auth.caller.tenantId : undefined,
    };
    try {
      const body = await readBody(req, this.#options.maxBodyBytes);
      if (this.#faults.latencyMs > 0) await sleep(this.#faults.latencyMs, this.#closing.signal);
      if (body.kind === 'too-large') {
        this.#finish(
          res,
          graphError(413, 'RequestEntityTooLarge', 'The request body is too large.', ids),
          arrival,
          idHeaders,
        );
        return;
      }
      const json = mediaTypeOf(req) === 'application/json' ? parseJsonText(body.text) : undefined;
      const context: GraphRouterContext = {
        directory: this.#directory,
        faults: this.#faults,
        limiter: this.#limiter,
        settings: {
          graphEndpoint: this.graphEndpoint,
          pageSize: this.#options.pageSize,
          maxPasswordsPerApp: this.#options.maxPasswordsPerApp,
          propagationDelayMs: this.#options.propagationDelayMs,
          lifetimePolicy: this.#options.lifetimePolicy,
        },
        onSecretCreated: (secretText) => this.#issuedSecrets.add(secretText),
        onBatchedRequest: (endpoint) => {
          this.#log.recordBatched(endpoint);
        },
      };
      const reply = routeGraphRequest(
        { method, route, query: url.searchParams, json, auth, ids, nowMs: Date.now() },
        context,
      );
      this.#finish(res, reply, arrival, idHeaders);
    } catch {
      // Aborted latency sleeps during close() land here; the socket is already gone then.
      if (!this.#closing.signal.aborted) {
        this.#finish(
          res,
          graphError(500, 'InternalServerError', 'Simulator internal error.', ids),
          arrival,
          idHeaders,
        );
      }
    }
  }

  #finish(
    res: ServerResponse,
    reply: SimReply,
    arrival: Arrival,
    headers: Readonly<Record<string, string>> = {},
  ): void {
    const { tenantId, ...call } = arrival;
    const tenant = tenantId === undefined ? {} : { tenantId };
    if (reply.kind === 'hang') {
      this.#hung.add(res);
      res.once('close', () => this.#hung.delete(res));
      this.#log.record({ ...call, ...tenant, status: 0 });
      return;
    }
    writeReply(res, reply, headers);
    this.#log.record({ ...call, ...tenant, status: reply.status });
  }
}
