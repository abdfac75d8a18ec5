import type { FailureStep, Step } from './ledger-model.ts';

/** One (target, connector) pair — or a whole target — that failed for good: what the DLQ keeps. */
export interface DeadLetter {
  readonly appId: string;
  readonly tenantId: string;
  /** Absent when the whole target failed. */
  readonly connectorId?: string | undefined;
  readonly step: FailureStep;
  readonly errorCode: string;
  /** Sanitized: built from our own messages and upstream error codes, never from secrets. */
  readonly message: string;
  readonly rotationId: string;
  readonly at: string;
}

export type ConnectorResult =
  | { readonly status: 'verified' }
  | { readonly status: 'failed' | 'unconfirmed'; readonly errorCode: string; readonly message: string };

/** What one run of the engine did for one target. Ids and outcomes only. */
export interface RotationReport {
  readonly rotationId: string;
  readonly appId: string;
  readonly outcome: 'rotated' | 'partial' | 'failed' | 'skipped';
  /** Why it rotated, or why it did not. */
  readonly reasons: readonly string[];
  readonly previousKeyId?: string | undefined;
  readonly keyId?: string | undefined;
  readonly keyEndDateTime?: string | undefined;
  readonly connectors: Readonly<Record<string, ConnectorResult>>;
  /** What an interrupted earlier rotation left behind and this run cleaned up. */
  readonly recovered?:
    { readonly rotationId: string; readonly step: Step; readonly removedKeys: readonly string[] } | undefined;
  readonly retired: readonly string[];
  readonly retireLater: readonly { readonly keyId: string; readonly notBefore: string }[];
  readonly deadLetters: readonly DeadLetter[];
  /** Connectors Qualys lists for this app that the configuration does not. */
  readonly drift: readonly string[];
  readonly nextDueAt?: string | undefined;
}
