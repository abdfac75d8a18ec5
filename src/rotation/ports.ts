import type {
  AddPasswordRequest,
  AppRef,
  NewPassword,
  ReadinessResult,
  SecondaryApp,
} from '../azure/types.ts';
import type { RotatorError } from '../errors/rotator-error.ts';
import type { BatchResult, ConnectorMapping, SecondaryAppBatch } from '../qualys/types.ts';
import type { Secret } from '../util/secret.ts';
import type { TargetRecord } from './ledger-model.ts';

/**
 * Entra ID applications as the engine needs them. Implemented by `ApplicationDirectory` (Graph) and by
 * an in-memory fake; the contract tests run the same cases against both.
 */
export interface DirectoryPort {
  readApp(ref: AppRef): Promise<SecondaryApp>;
  readApps(refs: readonly AppRef[]): Promise<Map<string, SecondaryApp | RotatorError>>;
  /** Not idempotent; an ambiguous failure is reconciled inside (the key is found by name and removed). */
  addPassword(app: SecondaryApp, request: AddPasswordRequest): Promise<NewPassword>;
  /** Idempotent: `absent` when the key was already gone. */
  removePassword(
    app: Pick<SecondaryApp, 'tenantId' | 'appId' | 'objectId'>,
    keyId: string,
  ): Promise<'removed' | 'absent'>;
  /** Resolves once Entra accepts the secret; throws a transient error when the bound passes. */
  waitUntilAccepted(
    ref: AppRef,
    secret: Secret,
    options?: { timeoutMs?: number; signal?: AbortSignal },
  ): Promise<ReadinessResult>;
}

/** The Qualys Connector API as the engine needs it. Implemented by `QualysConnectorClient` and a fake. */
export interface ConnectorApiPort {
  registerSecondaryApplications(batch: SecondaryAppBatch): Promise<BatchResult>;
  updateSecondaryApplications(batch: SecondaryAppBatch): Promise<BatchResult>;
  listSecondaryApplications(): Promise<ConnectorMapping[]>;
  deleteSecondaryApplications(mappings: readonly ConnectorMapping[]): Promise<BatchResult>;
  syncSecondaryApplications(): Promise<{ message: string | undefined }>;
}

/**
 * Durable memory of what was pushed where. It holds ids, times and outcomes, never secret text.
 * Deliberately left out: queues and scheduling (the worker's), and any notion of "current secret".
 */
export interface LedgerPort {
  read(appId: string): Promise<TargetRecord | undefined>;
  readMany(appIds: readonly string[]): Promise<Map<string, TargetRecord>>;
  /** Replaces the record; the engine writes before every step that could leave something behind. */
  write(record: TargetRecord): Promise<void>;
  /** Adds one entry to the target's capped history. */
  appendHistory(appId: string, entry: HistoryEntry): Promise<void>;
  history(appId: string, limit?: number): Promise<HistoryEntry[]>;
  /**
   * A lock per target, across processes and replicas: `true` when acquired. The holder renews it while
   * it works; an expired lock is free again (its holder died).
   */
  acquireLock(appId: string, owner: string, ttlMs: number): Promise<boolean>;
  renewLock(appId: string, owner: string, ttlMs: number): Promise<boolean>;
  releaseLock(appId: string, owner: string): Promise<void>;
}

export interface Clock {
  now(): number;
}

export interface HistoryEntry {
  readonly rotationId: string;
  readonly at: string;
  readonly outcome: RotationOutcome;
  readonly keyId?: string | undefined;
  readonly connectorsVerified?: number | undefined;
  readonly connectorsFailed?: number | undefined;
  readonly errorCode?: string | undefined;
  readonly message?: string | undefined;
}

export type RotationOutcome = 'rotated' | 'partial' | 'failed' | 'skipped' | 'compensated' | 'retired';
