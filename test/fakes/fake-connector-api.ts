import type { RotatorError } from '../../src/errors/rotator-error.ts';
import type { ConnectorApiPort } from '../../src/rotation/ports.ts';
import type {
  BatchResult,
  ConnectorMapping,
  PairOutcome,
  SecondaryAppBatch,
} from '../../src/qualys/types.ts';

type Operation = 'register' | 'update' | 'list' | 'delete' | 'sync';

/**
 * An in-memory Qualys Connector API with the simulator's semantics: known connectors, stored
 * credentials validated on register and update, and a listing that only sync refreshes.
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

  /** A pair registered before the rotator arrived, already in Qualys' cache. */
  seed(connectorId: string, appId: string, secret = 'seeded-secret'): void {
    this.#connectors.add(connectorId);
    const apps = this.#live.get(connectorId) ?? new Map<string, string>();
    apps.set(appId, secret);
    this.#live.set(connectorId, apps);
    this.#snapshot();
  }

  failNext(operation: Operation, error: RotatorError): void {
    this.#failures.push({ operation, error });
  }

  /** Every register/update of this pair fails with `code` until cleared. */
  failPair(connectorId: string, appId: string, code: string | undefined): void {
    if (code === undefined) this.#pairFailures.delete(`${connectorId}|${appId}`);
    else this.#pairFailures.set(`${connectorId}|${appId}`, code);
  }

  secretOf(connectorId: string, appId: string): string | undefined {
    return this.#live.get(connectorId)?.get(appId);
  }

  async registerSecondaryApplications(batch: SecondaryAppBatch): Promise<BatchResult> {
    this.#count('register');
    return this.#apply(batch, 'register');
  }

  async updateSecondaryApplications(batch: SecondaryAppBatch): Promise<BatchResult> {
    this.#count('update');
    return this.#apply(batch, 'update');
  }

  async listSecondaryApplications(): Promise<ConnectorMapping[]> {
    this.#count('list');
    return [...this.#cache]
      .filter(([, apps]) => apps.length > 0)
      .map(([connectorId, appIds]) => ({ connectorId, appIds }));
  }

  async deleteSecondaryApplications(mappings: readonly ConnectorMapping[]): Promise<BatchResult> {
    this.#count('delete');
    const outcomes: PairOutcome[] = mappings.flatMap((mapping) =>
      mapping.appIds.map((appId) => {
        const removed = this.#live.get(mapping.connectorId)?.delete(appId) ?? false;
        return removed
          ? { connectorId: mapping.connectorId, appId, status: 'succeeded' as const }
          : {
              connectorId: mapping.connectorId,
              appId,
              status: 'failed' as const,
              errorCode: 'MAPPING_NOT_FOUND',
              message: 'not registered',
            };
      }),
    );
    return { httpStatus: 200, message: undefined, outcomes, unmatchedFailures: [] };
  }

  async syncSecondaryApplications(): Promise<{ message: string | undefined }> {
    this.#count('sync');
    this.#snapshot();
    return { message: 'Successfully synced the secondary application into redis' };
  }

  #apply(batch: SecondaryAppBatch, kind: 'register' | 'update'): BatchResult {
    const secrets = new Map(
      batch.credentials.map((credential) => [credential.appId, credential.secret.reveal()]),
    );
    const outcomes: PairOutcome[] = [];
    let pairs = 0;
    for (const mapping of batch.mappings) {
      for (const appId of mapping.appIds) {
        pairs += 1;
        const { connectorId } = mapping;
        const fail = (errorCode: string, message: string) =>
          outcomes.push({ connectorId, appId, status: 'failed', errorCode, message });
        const secret = secrets.get(appId);
        const exists = this.#live.get(connectorId)?.has(appId) ?? false;
        const forced = this.#pairFailures.get(`${connectorId}|${appId}`);
        if (forced !== undefined) fail(forced, 'injected failure');
        else if (!this.#connectors.has(connectorId)) fail('CONNECTOR_NOT_FOUND', 'unknown connector');
        else if (kind === 'update' && !exists) fail('MAPPING_NOT_FOUND', 'mapping not registered');
        else if (kind === 'register' && exists) fail('ALREADY_REGISTERED', 'already registered');
        else if (secret === undefined || !this.validate(appId, secret))
          fail('CREDENTIAL_VALIDATION_FAILED', 'credential rejected');
        else {
          const apps = this.#live.get(connectorId) ?? new Map<string, string>();
          apps.set(appId, secret);
          this.#live.set(connectorId, apps);
          outcomes.push({ connectorId, appId, status: 'succeeded' });
        }
      }
    }
    this.batchSizes.push(pairs);
    return { httpStatus: 200, message: undefined, outcomes, unmatchedFailures: [] };
  }

  #snapshot(): void {
    this.#cache = new Map([...this.#live].map(([connector, apps]) => [connector, [...apps.keys()].sort()]));
  }

  #count(operation: Operation): void {
    this.calls[operation] += 1;
    const index = this.#failures.findIndex((failure) => failure.operation === operation);
    const failure = index >= 0 ? this.#failures.splice(index, 1)[0] : undefined;
    if (failure !== undefined) throw failure.error;
  }
}
