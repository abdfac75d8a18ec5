import type {
  AppCredential,
  BatchResult,
  ConnectorMapping,
  PairOutcome,
  SecondaryAppBatch,
} from '../qualys/types.ts';
import type { Secret } from '../util/secret.ts';
import { sleep } from '../util/sleep.ts';
import { Batcher } from './batcher.ts';
import type { PushStatus } from './ledger-model.ts';
import type { ConnectorApiPort } from './ports.ts';

export interface PushRequest {
  readonly appId: string;
  readonly secret: Secret;
  /** Connectors Qualys already lists for this app: updated. */
  readonly update: readonly string[];
  /** Configured connectors Qualys does not list yet: registered. */
  readonly register: readonly string[];
}

export interface PairResult {
  readonly status: PushStatus;
  readonly errorCode?: string | undefined;
  readonly message?: string | undefined;
}

export type PushResult = Readonly<Record<string, PairResult>>;

export interface VerifyRequest {
  readonly appId: string;
  readonly connectors: readonly string[];
}

/** Per connector: does Qualys list the app for it after the sync? */
export type VerifyResult = Readonly<Record<string, boolean>>;

export interface BatchingOptions {
  readonly windowMs: number;
  /** Most (connector, app) pairs in one update or register call. */
  readonly maxPairs: number;
  /** Lists tried after a sync before a missing pair counts as missing (Qualys' list can lag). */
  readonly verifyAttempts: number;
  readonly verifyDelayMs: number;
}

interface Pair {
  readonly index: number;
  readonly connectorId: string;
  readonly appId: string;
}

const MAPPING_MISSING = /NOT_FOUND|NOT_REGISTERED|NOT_MAPPED/i;
const ALREADY_THERE = /ALREADY/i;

/**
 * Shares Qualys calls between targets: pushes that arrive within the window go out as one update (and
 * one register) call, and their sync and list as one sync and one list. With a limit of a few hundred
 * calls an hour, this is what lets thousands of apps rotate. One failed pair never fails another.
 */
export class PushCoordinator {
  readonly #api: ConnectorApiPort;
  readonly #options: BatchingOptions;
  readonly #push: Batcher<PushRequest, PushResult>;
  readonly #verify: Batcher<VerifyRequest, VerifyResult>;

  constructor(api: ConnectorApiPort, options: BatchingOptions) {
    this.#api = api;
    this.#options = options;
    const maxItems = Math.max(1, options.maxPairs);
    this.#push = new Batcher({
      windowMs: options.windowMs,
      maxItems,
      flush: (requests) => this.#flushPush(requests),
    });
    this.#verify = new Batcher({
      windowMs: options.windowMs,
      maxItems,
      flush: (requests) => this.#flushVerify(requests),
    });
  }

  push(request: PushRequest): Promise<PushResult> {
    return this.#push.submit(request);
  }

  syncAndVerify(request: VerifyRequest): Promise<VerifyResult> {
    return this.#verify.submit(request);
  }

  async #flushPush(requests: readonly PushRequest[]): Promise<PushResult[]> {
    const results: Record<string, PairResult>[] = requests.map(() => ({}));
    const credentials = requests.map((request) => ({ appId: request.appId, secret: request.secret }));
    const pairs = (kind: 'update' | 'register'): Pair[] =>
      requests.flatMap((request, index) =>
        request[kind].map((connectorId) => ({ index, connectorId, appId: request.appId })),
      );
    const retryAsRegister = await this.#send('update', pairs('update'), credentials, results, false);
    const retryAsUpdate = await this.#send('register', pairs('register'), credentials, results, false);
    // Once more, with the other verb: Qualys' list may be stale, so a pair that update calls
    // unregistered is registered, and one that register calls registered already is updated.
    await this.#send('register', retryAsRegister, credentials, results, true);
    await this.#send('update', retryAsUpdate, credentials, results, true);
    return results;
  }

  /** Sends pairs in calls of at most `maxPairs`; returns those worth one more try with the other verb. */
  async #send(
    kind: 'update' | 'register',
    pairs: readonly Pair[],
    credentials: readonly AppCredential[],
    results: Record<string, PairResult>[],
    final: boolean,
  ): Promise<Pair[]> {
    const retry: Pair[] = [];
    const otherVerb = kind === 'update' ? MAPPING_MISSING : ALREADY_THERE;
    for (let start = 0; start < pairs.length; start += this.#options.maxPairs) {
      const chunk = pairs.slice(start, start + this.#options.maxPairs);
      const apps = new Set(chunk.map((pair) => pair.appId));
      const batch: SecondaryAppBatch = {
        mappings: groupByConnector(chunk),
        credentials: credentials.filter((credential) => apps.has(credential.appId)),
      };
      const answer: BatchResult =
        kind === 'update'
          ? await this.#api.updateSecondaryApplications(batch)
          : await this.#api.registerSecondaryApplications(batch);
      for (const pair of chunk) {
        const outcome = findOutcome(answer.outcomes, pair.connectorId, pair.appId);
        if (!final && outcome?.status === 'failed' && otherVerb.test(outcome.errorCode ?? '')) {
          retry.push(pair);
          continue;
        }
        (results[pair.index] as Record<string, PairResult>)[pair.connectorId] = {
          status: outcome?.status ?? 'unconfirmed',
          errorCode: outcome?.errorCode,
          message: outcome?.message,
        };
      }
    }
    return retry;
  }

  async #flushVerify(requests: readonly VerifyRequest[]): Promise<VerifyResult[]> {
    await this.#api.syncSecondaryApplications();
    let listing: ConnectorMapping[] = [];
    for (let attempt = 1; attempt <= this.#options.verifyAttempts; attempt += 1) {
      listing = await this.#api.listSecondaryApplications();
      if (
        requests.every((request) =>
          request.connectors.every((connector) => lists(listing, connector, request.appId)),
        )
      )
        break;
      if (attempt < this.#options.verifyAttempts) await sleep(this.#options.verifyDelayMs);
    }
    return requests.map((request) =>
      Object.fromEntries(
        request.connectors.map((connector) => [connector, lists(listing, connector, request.appId)]),
      ),
    );
  }
}

function groupByConnector(pairs: readonly { connectorId: string; appId: string }[]): ConnectorMapping[] {
  const byConnector = new Map<string, string[]>();
  for (const pair of pairs)
    byConnector.set(pair.connectorId, [...(byConnector.get(pair.connectorId) ?? []), pair.appId]);
  return [...byConnector].map(([connectorId, appIds]) => ({ connectorId, appIds }));
}

function findOutcome(
  outcomes: readonly PairOutcome[],
  connectorId: string,
  appId: string,
): PairOutcome | undefined {
  return outcomes.find(
    (outcome) => outcome.connectorId === connectorId.toLowerCase() && outcome.appId === appId.toLowerCase(),
  );
}

export function lists(listing: readonly ConnectorMapping[], connectorId: string, appId: string): boolean {
  return listing.some(
    (mapping) =>
      mapping.connectorId === connectorId.toLowerCase() && mapping.appIds.includes(appId.toLowerCase()),
  );
}
