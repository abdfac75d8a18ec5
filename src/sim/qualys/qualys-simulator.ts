import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { sleep } from '../../util/sleep.ts';
import { checkedFaultsPatch } from '../shared/fault-store.ts';
import { FixedWindowRateLimiter } from '../shared/fixed-window-rate-limiter.ts';
import {
  jsonReply,
  mediaTypeOf,
  parseJsonText,
  readBody,
  writeReply,
  type SimReply,
  type SimResponse,
} from '../shared/http-helpers.ts';
import { routeApiRequest, type ApiContext, type ApiRequest } from './api-router.ts';
import { CallLog, type SimCall } from './call-log.ts';
import { ConcurrencyGate } from './concurrency-gate.ts';
import { CONTROL_PLANE_PREFIX, handleControlPlane, type ControlPlaneTarget } from './control-plane.ts';
import { routeOf, type QualysEndpoint } from './endpoints.ts';
import { FaultInjector, parseFaultsPatch, type QualysFaults } from './faults.ts';
import { TokenIssuer } from './jwt.ts';
import { secretKeysIn } from './mapping-request.ts';
import { resolveOptions, type QualysSimulatorOptions, type ResolvedOptions } from './options.ts';
import { QualysState, snapshotToObject } from './state.ts';

export type { SimCall } from './call-log.ts';
export type { SimStateView } from './control-plane.ts';
export type { QualysEndpoint } from './endpoints.ts';
export type { QualysFaults } from './faults.ts';
export type { CredentialValidator, MappingFailure, QualysFailureCode } from './mapping-api.ts';
export type { QualysSimulatorOptions } from './options.ts';

function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

function pathOf(rawUrl: string | undefined): string {
  return new URL(rawUrl ?? '/', 'http://simulator.invalid').pathname;
}

/**
 * The Qualys gateway as the rotator sees it: /auth, the Azure secondary-application endpoints, the
 * gateway's rate and concurrency limits, and faults on demand. A real HTTP(S) server on a loopback
 * port, so clients are tested through their real transport.
 */
export class QualysSimulator {
  readonly url: string;
  readonly username: string;
  readonly password: string;

  readonly #server: Server;
  readonly #options: ResolvedOptions;
  readonly #state: QualysState;
  readonly #issuer: TokenIssuer;
  readonly #faults: FaultInjector;
  readonly #limiter: FixedWindowRateLimiter;
  readonly #gate: ConcurrencyGate;
  readonly #log = new CallLog();
  readonly #receivedSecrets = new Set<string>();
  readonly #hung = new Set<ServerResponse>();
  /** Aborts pending latency sleeps, so close() never waits for an injected delay. */
  readonly #closing = new AbortController();
  #closed: Promise<void> | undefined;

  private constructor(server: Server, url: string, options: ResolvedOptions) {
    this.#server = server;
    this.url = url;
    this.#options = options;
    this.username = options.username;
    this.password = options.password;
    this.#state = new QualysState(options.connectors);
    this.#issuer = new TokenIssuer(options.tokenTtlMs);
    this.#faults = new FaultInjector(options.seed);
    this.#limiter = new FixedWindowRateLimiter(options.rateLimit.limit, options.rateLimit.windowMs);
    this.#gate = new ConcurrencyGate(options.concurrencyLimit);
  }

  static async start(options: QualysSimulatorOptions = {}): Promise<QualysSimulator> {
    const resolved = resolveOptions(options);
    const server: Server = resolved.tls ? createHttpsServer(resolved.tls) : createHttpServer();
    const address = await listen(server, resolved.host, resolved.port);
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const simulator = new QualysSimulator(
      server,
      `${resolved.tls ? 'https' : 'http'}://${host}:${address.port}`,
      resolved,
    );
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      void simulator.#onRequest(req, res);
    });
    return simulator;
  }

  /** Stops listening and ends every connection, hung ones included. Safe to call twice. */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      this.#closing.abort();
      this.#server.close(() => {
        resolve();
      });
      for (const res of this.#hung) res.destroy();
      this.#hung.clear();
      this.#server.closeAllConnections();
    });
    return this.#closed;
  }

  addConnector(connectorId: string): void {
    this.#state.addConnector(connectorId);
  }

  /** Merges into the faults in force (a field given replaces that field whole). */
  setFaults(faults: Partial<QualysFaults>): void {
    this.#faults.set(checkedFaultsPatch(faults, parseFaultsPatch));
  }

  resetFaults(): void {
    this.#faults.reset();
  }

  faults(): QualysFaults {
    return this.#faults.current();
  }

  revokeTokens(): void {
    this.#issuer.revokeAll();
  }

  liveMappings(): Map<string, string[]> {
    return this.#state.live();
  }

  cachedMappings(): Map<string, string[]> {
    return this.#state.cache();
  }

  storedSecret(connectorId: string, appId: string): string | undefined {
    return this.#state.secretOf(connectorId, appId);
  }

  seedMapping(connectorId: string, appId: string, secret: string): void {
    this.#state.seed(connectorId, appId, secret);
  }

  issuedTokens(): readonly string[] {
    return this.#issuer.issued();
  }

  /** Distinct, in the order first received. */
  receivedSecrets(): readonly string[] {
    return [...this.#receivedSecrets];
  }

  calls(): readonly SimCall[] {
    return this.#log.all();
  }

  callCount(endpoint?: QualysEndpoint): number {
    return this.#log.count(endpoint);
  }

  maxObservedRate(windowMs: number): number {
    return this.#log.maxInWindow(windowMs);
  }

  readonly #controlPlane: ControlPlaneTarget = {
    stateView: () => ({
      live: snapshotToObject(this.#state.live()),
      cache: snapshotToObject(this.#state.cache()),
      connectors: this.#state.connectors(),
      callCounts: { ...this.#log.countsByEndpoint(), total: this.#log.count() },
      faults: this.#faults.current(),
    }),
    setFaults: (patch) => {
      this.#faults.set(patch);
    },
    resetFaults: () => {
      this.#faults.reset();
    },
    addConnector: (connectorId) => {
      this.#state.addConnector(connectorId);
    },
    revokeTokens: () => {
      this.#issuer.revokeAll();
    },
  };

  async #onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const path = pathOf(req.url);
      if (path.startsWith(CONTROL_PLANE_PREFIX)) {
        const body = await readBody(req, this.#options.maxBodyBytes);
        writeReply(res, handleControlPlane(req.method ?? 'GET', path, body, this.#controlPlane));
        return;
      }
      await this.#serveGateway(req, res, path);
    } catch {
      // Aborted latency sleeps during close() land here; the socket is already gone then.
      if (!this.#closing.signal.aborted) {
        const reply = jsonReply(500, { message: 'Simulator internal error' });
        writeReply(res, reply, this.#limitHeaders(Date.now()));
      }
    }
  }

  async #serveGateway(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const arrivedAt = Date.now();
    const method = req.method ?? 'GET';
    const endpoint = routeOf(path)?.endpoint ?? 'other';
    const release = this.#gate.tryAcquire();
    // Refused on arrival, as the gateway would, even though injected latency delays the answer.
    const refusal = release === undefined ? this.#concurrencyRefusal() : undefined;
    // A client that gives up on a hung or slow call frees its slot, as the gateway notices the reset.
    if (release !== undefined) res.once('close', release);

    const body = await readBody(req, this.#options.maxBodyBytes);
    const json = body.kind === 'ok' ? parseJsonText(body.text) : { ok: false as const };
    if (json.ok) for (const secret of secretKeysIn(json.value)) this.#receivedSecrets.add(secret);
    if (this.#faults.latencyMs > 0) await sleep(this.#faults.latencyMs, this.#closing.signal);

    const reply =
      refusal ??
      (await this.#admitted({
        method,
        path,
        endpoint,
        mediaType: mediaTypeOf(req),
        authorization: req.headers.authorization,
        body,
        json,
        nowMs: Date.now(),
      }));
    if (reply.kind === 'hang') {
      this.#hung.add(res);
      res.once('close', () => this.#hung.delete(res));
      this.#log.record({ method, path, status: 0, at: arrivedAt, endpoint });
      return;
    }
    const headers = this.#limitHeaders(Date.now());
    release?.();
    writeReply(res, reply, headers);
    this.#log.record({ method, path, status: reply.status, at: arrivedAt, endpoint });
  }

  #concurrencyRefusal(): SimResponse {
    return jsonReply(
      this.#options.rateLimit.blockStatus,
      { message: `Concurrency limit of ${this.#gate.limit} requests in flight exceeded` },
      { 'Retry-After': '1', 'X-Concurrency-Limit-Running': String(this.#gate.running) },
    );
  }

  async #admitted(request: ApiRequest): Promise<SimReply> {
    const verdict = this.#limiter.take(request.nowMs);
    if (!verdict.allowed) {
      const wait = String(verdict.toWaitSec);
      return jsonReply(
        this.#options.rateLimit.blockStatus,
        { message: `Rate limit of ${this.#limiter.limit} calls per ${this.#limiter.windowSec} s exceeded` },
        { 'Retry-After': wait, 'X-RateLimit-ToWait-Sec': wait },
      );
    }
    return routeApiRequest(request, this.#apiContext());
  }

  #apiContext(): ApiContext {
    return {
      state: this.#state,
      faults: this.#faults,
      issuer: this.#issuer,
      credentials: { username: this.username, password: this.password },
      validateCredential: this.#options.validateCredential,
      listReadsCache: this.#options.listReadsCache,
      blockStatus: this.#options.rateLimit.blockStatus,
    };
  }

  #limitHeaders(nowMs: number): Record<string, string> {
    return {
      'X-RateLimit-Limit': String(this.#limiter.limit),
      'X-RateLimit-Window-Sec': String(this.#limiter.windowSec),
      'X-RateLimit-Remaining': String(this.#limiter.remaining(nowMs)),
      'X-Concurrency-Limit-Limit': String(this.#gate.limit),
      'X-Concurrency-Limit-Running': String(this.#gate.running),
    };
  }
}
