import type { SecondaryApp } from '../azure/types.ts';
import type { RotationPolicy } from '../config/types.ts';
import { isManagedKey } from './key-names.ts';
import { keysInUse, UNKNOWN_KEY, type TargetRecord } from './ledger-model.ts';

export interface RetireDecision {
  /** Keys to remove now. */
  readonly removeNow: readonly string[];
  /** Keys to remove once their grace period ends. */
  readonly later: readonly { readonly keyId: string; readonly notBefore: number }[];
  /** Keys kept, and why, for status and dry runs. */
  readonly kept: readonly { readonly keyId: string; readonly reason: string }[];
  /** Keys first seen free now: the ledger records this time so the grace period has a fixed start. */
  readonly markReleased: readonly string[];
  /** Set when nothing at all may be retired, and why. */
  readonly blockedBy?: string | undefined;
}

export interface RetireInputs {
  readonly app: SecondaryApp;
  readonly record: TargetRecord;
  readonly policy: RotationPolicy;
  readonly now: number;
  readonly connectors: readonly string[];
  /** Connectors Qualys lists for this app that the configuration does not: they may hold any key. */
  readonly driftConnectors: readonly string[];
}

/**
 * Which keys may go (invariant 1): never a key some connector holds or may hold, never while a
 * connector's key is unknown or an unconfigured connector uses the app, never before the grace period
 * from the moment the last connector moved off it; unmanaged keys only when the policy allows; the
 * `keepPrevious` most recent previous managed keys stay. A pure function.
 */
export function planRetirement(inputs: RetireInputs): RetireDecision {
  const { app, record, policy, now } = inputs;
  const kept: { keyId: string; reason: string }[] = [];
  const unknown = inputs.connectors.filter(
    (connector) => (record.connectors[connector]?.keyId ?? UNKNOWN_KEY) === UNKNOWN_KEY,
  );
  if (unknown.length > 0) {
    return {
      removeNow: [],
      later: [],
      kept,
      markReleased: [],
      blockedBy: `connectors with a key the rotator did not push: ${unknown.join(', ')}`,
    };
  }
  if (inputs.driftConnectors.length > 0) {
    return {
      removeNow: [],
      later: [],
      kept,
      markReleased: [],
      blockedBy: `connectors not in the configuration use this app: ${inputs.driftConnectors.join(', ')}`,
    };
  }
  const inUse = keysInUse(record);
  const candidates = app.passwords
    .filter((password) => {
      if (password.keyId === record.currentKeyId) return keep(kept, password.keyId, 'current key');
      if (inUse.has(password.keyId)) return keep(kept, password.keyId, 'a connector holds or may hold it');
      if (!isManagedKey(password.displayName) && !policy.retireUnmanagedKeys) {
        return keep(kept, password.keyId, 'not created by the rotator (rotation.retireUnmanagedKeys is off)');
      }
      return true;
    })
    .sort((a, b) => Date.parse(b.startDateTime ?? '') - Date.parse(a.startDateTime ?? ''));
  let managedKept = 0;
  const removeNow: string[] = [];
  const later: { keyId: string; notBefore: number }[] = [];
  const markReleased: string[] = [];
  for (const password of candidates) {
    if (isManagedKey(password.displayName) && managedKept < policy.keepPrevious) {
      managedKept += 1;
      keep(kept, password.keyId, `keepPrevious (${policy.keepPrevious})`);
      continue;
    }
    const released = Date.parse(record.releasedKeys[password.keyId] ?? record.allKnownSince ?? '');
    if (!Number.isFinite(released)) markReleased.push(password.keyId);
    const notBefore = (Number.isFinite(released) ? released : now) + policy.gracePeriodMs;
    if (now >= notBefore) removeNow.push(password.keyId);
    else later.push({ keyId: password.keyId, notBefore });
  }
  return { removeNow, later, kept, markReleased };
}

function keep(kept: { keyId: string; reason: string }[], keyId: string, reason: string): false {
  kept.push({ keyId, reason });
  return false;
}
