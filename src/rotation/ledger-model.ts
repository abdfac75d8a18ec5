/**
 * What the ledger remembers about one target (a secondary app and its connectors). Ids, times and
 * outcomes only: no field here may ever hold secret text.
 */

/** The checkpoints of a rotation, in order. Each is written before the work that could leave traces. */
export type Step = 'intent' | 'created' | 'ready' | 'push-intent' | 'pushed' | 'synced' | 'verified';

export type PushStatus = 'succeeded' | 'failed' | 'unconfirmed';

/** Where a rotation can fail, as operators read it in status and the DLQ. */
export type FailureStep = 'plan' | 'create' | 'ready' | 'push' | 'verify' | 'retire';

/** A rotation that started and has not finished: what recovery needs after a crash. */
export interface InFlightRotation {
  readonly rotationId: string;
  readonly startedAt: string;
  readonly forced: boolean;
  readonly step: Step;
  /** The displayName given to the new key, which finds it even when its keyId was never recorded. */
  readonly displayName: string;
  readonly keyId?: string | undefined;
  readonly keyEndDateTime?: string | undefined;
  /** Write-ahead of the push: every connector that may receive the key. */
  readonly pushTo?: readonly string[] | undefined;
  readonly pushOutcomes?: Readonly<Record<string, PushStatus>> | undefined;
}

export interface ConnectorState {
  /** The key this connector holds per our last push; `unknown` until the rotator's first push to it. */
  readonly keyId: string;
  /** Keys pushed with an unknown outcome: the connector may hold any of them, so none may be removed. */
  readonly mayHold: readonly string[];
  readonly pushedAt?: string | undefined;
  readonly verifiedAt?: string | undefined;
  readonly rotationId?: string | undefined;
}

export const UNKNOWN_KEY = 'unknown';

export interface LastResult {
  readonly rotationId: string;
  readonly at: string;
  readonly outcome: 'rotated' | 'partial' | 'failed' | 'compensated';
  readonly errorCode?: string | undefined;
  readonly message?: string | undefined;
  readonly step?: FailureStep | Step | undefined;
}

export interface TargetRecord {
  readonly appId: string;
  readonly tenantId: string;
  readonly connectors: Readonly<Record<string, ConnectorState>>;
  /** The newest key that at least one connector holds. */
  readonly currentKeyId?: string | undefined;
  readonly currentKeyExpiresAt?: string | undefined;
  /** Since when every configured connector holds a key we pushed (keys from before are free from then). */
  readonly allKnownSince?: string | undefined;
  /** Keys no connector holds any more, and since when: the grace period counts from there. */
  readonly releasedKeys: Readonly<Record<string, string>>;
  /** Removals waiting for their grace period, so a restart (or the delayed job) finds them. */
  readonly pendingRetirements: readonly { readonly keyId: string; readonly notBefore: string }[];
  readonly lastResult?: LastResult | undefined;
  readonly lastSuccessAt?: string | undefined;
  readonly nextDueAt?: string | undefined;
  /** The connectors configured at the last run: a connector added since makes the target due. */
  readonly connectorsSeen?: readonly string[] | undefined;
  /** Set when a key may be held somewhere we could not confirm: the next run must rotate. */
  readonly rotateAgain?: boolean | undefined;
  readonly inFlight?: InFlightRotation | undefined;
}

export function emptyRecord(appId: string, tenantId: string): TargetRecord {
  return { appId, tenantId, connectors: {}, releasedKeys: {}, pendingRetirements: [] };
}

/** Every key some connector holds or may hold. */
export function keysInUse(record: TargetRecord): Set<string> {
  const keys = new Set<string>();
  for (const state of Object.values(record.connectors)) {
    if (state.keyId !== UNKNOWN_KEY) keys.add(state.keyId);
    for (const key of state.mayHold) keys.add(key);
  }
  return keys;
}
