import type { RotatorError } from '../../src/errors/rotator-error.ts';
import { QualysHttpStatusError, QualysInvalidRequestError } from '../../src/qualys/errors/index.ts';
import type { ConnectorApiPort } from '../../src/rotation/ports.ts';
import type {
  BatchResult,
  ConnectorMapping,
  PairOutcome,
  SecondaryAppBatch,
} from '../../src/qualys/types.ts';

type Operation = 'register' | 'update' | 'list' | 'delete' | 'sync';

type FailureCode =
  | 'CONNECTOR_NOT_FOUND'
  | 'MAPPING_NOT_FOUND'
  | 'ALREADY_REGISTERED'
  | 'CREDENTIAL_VALIDATION_FAILED'
  | 'MISSING_CREDENTIAL';

/** A pair as sent: Qualys (and the simulator) match ids exactly as given. */
interface Pair {
  readonly connectorId: string;
  readonly appId: string;
}

type PairResult =
  { readonly ok: true } | { readonly ok: false; readonly code: string; readonly message: string };

const key = (connectorId: string, appId: string) => `${connectorId.toLowerCase()}|${appId.toLowerCase()}`;

function failureMessage(code: FailureCode, { connectorId, appId }: Pair): string {
  switch (code) {
    case 'CONNECTOR_NOT_FOUND':
      return `Connector ${connectorId} not found`;
    case 'MAPPING_NOT_FOUND':
      return `Application ${appId} is not registered to connector ${connectorId}`;
    case 'ALREADY_REGISTERED':
      return `Application ${appId} is already registered to connector ${connectorId}`;
    case 'CREDENTIAL_VALIDATION_FAILED':
      return `Credential validation failed for application ${appId}`;
    case 'MISSING_CREDENTIAL':
      return `No appCredentials entry for application ${appId}`;
  }
}

/**
 * An in-memory Qualys Connector API with the simulator's semantics, as QualysConnectorClient presents
 * them: known connectors, stored credentials validated on register and update, and a listing that only
 * sync refreshes. The contract tests (test/contract/connector-api.contract.test.ts) hold it to the
 * client over the simulator: ids come back lower-cased, outcomes in request order (a pair named twice
 * is processed once), a call in which every pair fails answers 400, and a batch the client refuses
 * before sending throws here too.
 */
export class FakeConnectorApi implements ConnectorApiPort {
  readonly #connectors = new Set<string>();
  readonly #live = new Map<string, Map<string, string>>();
  #cache = new Map<string, string[]>();
  readonly #failures: { operation: Operation; error: RotatorError }[] = [];
  readonly #pairFailures = new Map<string, string>();
  readonly calls: Record<Operation, number> = { register: 0, update: 0, list: 0, delete: 0, sync: 0 };
  /** Pairs per update/register call, to show batching. */
  readonly batchSizes: number[] = [];
  validate: (appId: string, secret: string) => boolean = () => true;

  constructor(connectors: readonly string[] = []) {
    for (const connector of connectors) this.#connectors.add(connector);
  }

  addConnector(connectorId: string): void {
    this.#connectors.add(connectorId);
  }

  /** A pair registered before the rotator arrived, already in Qualys' cache (nothing else is synced). */
  seed(connectorId: string, appId: string, secret = 'seeded-secret'): void {
    this.#connectors.add(connectorId);
    const apps = this.#live.get(connectorId) ?? new Map<string, string>();
    apps.set(appId, secret);
    this.#live.set(connectorId, apps);
    const cached = new Set(this.#cache.get(connectorId) ?? []);
    cached.add(appId);
    this.#cache.set(connectorId, [...cached].sort());
  }

  failNext(operation: Operation, error: RotatorError): void {
    this.#failures.push({ operation, error });
  }

  /** Every register/update of this pair fails with `code` until cleared. */
  failPair(connectorId: string, appId: string, code: string | undefined): void {
    if (code === undefined) this.#pairFailures.delete(key(connectorId, appId));
    else this.#pairFailures.set(key(connectorId, appId), code);
  }

  secretOf(connectorId: string, appId: string): string | undefined {
    return this.#live.get(connectorId)?.get(appId);
  }

  async registerSecondaryApplications(batch: SecondaryAppBatch): Promise<BatchResult> {
    checkBatch('register', batch);
    this.#count('register');
    return this.#apply(batch, 'register');
  }

  async updateSecondaryApplications(batch: SecondaryAppBatch): Promise<BatchResult> {
    checkBatch('update', batch);
    this.#count('update');
    return this.#apply(batch, 'update');
  }

  async listSecondaryApplications(): Promise<ConnectorMapping[]> {
    this.#count('list');
    return [...this.#cache]
      .filter(([, apps]) => apps.length > 0)
      .map(([connectorId, appIds]) => ({
        connectorId: connectorId.toLowerCase(),
        appIds: appIds.map((appId) => appId.toLowerCase()),
      }));
  }

  async deleteSecondaryApplications(mappings: readonly ConnectorMapping[]): Promise<BatchResult> {
    this.#count('delete');
    return this.#batch(mappings, 'delete', (pair) => {
      if (!this.#connectors.has(pair.connectorId)) return this.#fail('CONNECTOR_NOT_FOUND', pair);
      const apps = this.#live.get(pair.connectorId);
      if (apps?.delete(pair.appId) !== true) return this.#fail('MAPPING_NOT_FOUND', pair);
      if (apps.size === 0) this.#live.delete(pair.connectorId);
      return { ok: true };
    });
  }

  async syncSecondaryApplications(): Promise<{ message: string | undefined }> {
    this.#count('sync');
    this.#cache = new Map(
      [...this.#live]
        .filter(([, apps]) => apps.size > 0)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([connector, apps]) => [connector, [...apps.keys()].sort()]),
    );
    return { message: 'Successfully synced the secondary application into redis' };
  }

  #apply(batch: SecondaryAppBatch, kind: 'register' | 'update'): BatchResult {
    // Qualys matches credentials to mappings by the appId exactly as sent, and refuses the whole call
    // (HTTP 400, no per-pair outcomes) when one appId comes with two different secrets.
    const secrets = new Map<string, string>();
    for (const credential of batch.credentials) {
      const earlier = secrets.get(credential.appId);
      if (earlier !== undefined && earlier !== credential.secret.reveal()) {
        throw new QualysHttpStatusError(kind, 400);
      }
      secrets.set(credential.appId, credential.secret.reveal());
    }
    // Each distinct appId and secret is validated once per call, as Qualys does.
    const verdicts = new Map<string, boolean>();
    const valid = (appId: string, secret: string): boolean => {
      const id = JSON.stringify([appId, secret]);
      let verdict = verdicts.get(id);
      if (verdict === undefined) {
        verdict = this.validate(appId, secret);
        verdicts.set(id, verdict);
      }
      return verdict;
    };
    this.batchSizes.push(batch.mappings.reduce((sum, mapping) => sum + mapping.appIds.length, 0));
    return this.#batch(batch.mappings, 'process', (pair) => {
      const { connectorId, appId } = pair;
      const forced = this.#pairFailures.get(key(connectorId, appId));
      if (forced !== undefined) {
        return {
          ok: false,
          code: forced,
          message: `Injected failure for application ${appId} on connector ${connectorId}`,
        };
      }
      const secret = secrets.get(appId);
      const exists = this.#live.get(connectorId)?.has(appId) ?? false;
      if (!this.#connectors.has(connectorId)) return this.#fail('CONNECTOR_NOT_FOUND', pair);
      if (secret === undefined) return this.#fail('MISSING_CREDENTIAL', pair);
      if (kind === 'update' && !exists) return this.#fail('MAPPING_NOT_FOUND', pair);
      if (kind === 'register' && exists) return this.#fail('ALREADY_REGISTERED', pair);
      if (!valid(appId, secret)) return this.#fail('CREDENTIAL_VALIDATION_FAILED', pair);
      const apps = this.#live.get(connectorId) ?? new Map<string, string>();
      apps.set(appId, secret);
      this.#live.set(connectorId, apps);
      return { ok: true };
    });
  }

  #fail(code: FailureCode, pair: Pair): PairResult {
    return { ok: false, code, message: failureMessage(code, pair) };
  }

  /**
   * Runs `handle` once per distinct pair (a connector named twice is merged, an app named twice once),
   * then reports one outcome per requested pair, in request order, ids lower-cased, as the client does.
   */
  #batch(
    mappings: readonly ConnectorMapping[],
    verb: 'process' | 'delete',
    handle: (pair: Pair) => PairResult,
  ): BatchResult {
    const merged = new Map<string, string[]>();
    for (const { connectorId, appIds } of mappings) {
      const apps = merged.get(connectorId) ?? [];
      for (const appId of appIds) if (!apps.includes(appId)) apps.push(appId);
      merged.set(connectorId, apps);
    }
    const results = new Map<string, PairResult>();
    for (const [connectorId, appIds] of merged) {
      for (const appId of appIds) {
        const pairKey = key(connectorId, appId);
        if (!results.has(pairKey)) results.set(pairKey, handle({ connectorId, appId }));
      }
    }
    const failed = [...results.values()].filter((result) => !result.ok).length;
    const succeeded = results.size - failed;
    const past = verb === 'delete' ? 'deleted' : 'processed';
    const message =
      failed === 0
        ? `All items ${past} successfully`
        : succeeded === 0
          ? `All items failed to ${verb}`
          : `Some items failed to ${verb}`;
    const outcomes = mappings.flatMap(({ connectorId, appIds }) =>
      appIds.map((appId): PairOutcome => {
        const pair = { connectorId: connectorId.toLowerCase(), appId: appId.toLowerCase() };
        const result = results.get(key(connectorId, appId));
        return result === undefined || result.ok
          ? { ...pair, status: 'succeeded' }
          : { ...pair, status: 'failed', errorCode: result.code, message: result.message };
      }),
    );
    return {
      httpStatus: succeeded === 0 && failed > 0 ? 400 : 200,
      message,
      outcomes,
      unmatchedFailures: [],
    };
  }

  #count(operation: Operation): void {
    this.calls[operation] += 1;
    const index = this.#failures.findIndex((failure) => failure.operation === operation);
    const failure = index >= 0 ? this.#failures.splice(index, 1)[0] : undefined;
    if (failure !== undefined) throw failure.error;
  }
}

/** What QualysConnectorClient refuses before sending: an empty batch, a pair without a credential, an empty secret. */
function checkBatch(operation: 'register' | 'update', batch: SecondaryAppBatch): void {
  const appIds = batch.mappings.flatMap((mapping) => mapping.appIds.map((appId) => appId.toLowerCase()));
  if (appIds.length === 0) {
    throw new QualysInvalidRequestError(`Qualys ${operation}: the batch maps no app to any connector`);
  }
  const given = new Set(batch.credentials.map((credential) => credential.appId.toLowerCase()));
  const missing = [...new Set(appIds)].filter((appId) => !given.has(appId));
  if (missing.length > 0) {
    throw new QualysInvalidRequestError(
      `Qualys ${operation}: no credential given for app(s) ${missing.join(', ')}`,
    );
  }
  if (batch.credentials.some((credential) => credential.secret.length === 0)) {
    throw new QualysInvalidRequestError(`Qualys ${operation}: a credential has an empty secret`);
  }
}
