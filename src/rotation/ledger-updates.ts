import { keysInUse, UNKNOWN_KEY, type PushStatus, type TargetRecord } from './ledger-model.ts';

/**
 * Records what a push did to each connector. A succeeded push replaces whatever the connector held
 * (Qualys stores one secret per pair); an unconfirmed one adds the key to what it may hold; a failed
 * one changes nothing. Keys that no connector holds any more start their grace period now.
 * Idempotent, so that recovery may apply the same outcomes again.
 */
export function applyPushOutcomes(
  record: TargetRecord,
  keyId: string,
  outcomes: Readonly<Record<string, PushStatus>>,
  now: number,
  rotationId: string,
): TargetRecord {
  const connectors = { ...record.connectors };
  for (const [connector, status] of Object.entries(outcomes)) {
    const previous = connectors[connector] ?? { keyId: UNKNOWN_KEY, mayHold: [] };
    if (status === 'succeeded') {
      connectors[connector] =
        previous.keyId === keyId && previous.mayHold.length === 0
          ? previous
          : { keyId, mayHold: [], pushedAt: new Date(now).toISOString(), rotationId };
    } else if (
      status === 'unconfirmed' &&
      keyId !== '' &&
      !previous.mayHold.includes(keyId) &&
      previous.keyId !== keyId
    ) {
      connectors[connector] = { ...previous, mayHold: [...previous.mayHold, keyId] };
    }
  }
  return releaseFreedKeys({ ...record, connectors }, now, keysInUse(record));
}

/** Marks connectors whose listing confirmed the push. */
export function applyVerification(
  record: TargetRecord,
  verified: readonly string[],
  now: number,
): TargetRecord {
  const connectors = { ...record.connectors };
  for (const connector of verified) {
    const state = connectors[connector];
    if (state !== undefined) connectors[connector] = { ...state, verifiedAt: new Date(now).toISOString() };
  }
  return { ...record, connectors };
}

/** Starts the grace period of every key that was in use before and is not now. */
export function releaseFreedKeys(
  record: TargetRecord,
  now: number,
  before: ReadonlySet<string>,
): TargetRecord {
  const inUse = keysInUse(record);
  const releasedKeys = Object.fromEntries(
    Object.entries(record.releasedKeys).filter(([keyId]) => !inUse.has(keyId)),
  );
  for (const keyId of before) {
    if (!inUse.has(keyId)) releasedKeys[keyId] ??= new Date(now).toISOString();
  }
  return { ...record, releasedKeys };
}
