import type { SecondaryApp } from '../azure/types.ts';
import type { RotationPolicy } from '../config/types.ts';
import type { TargetRecord } from './ledger-model.ts';

export interface DueAssessment {
  readonly due: boolean;
  /** Why it is due (or, when it is not, empty). Shown by status and dry runs. */
  readonly reasons: readonly string[];
  /** When it will be due by age or expiry, if nothing else happens. */
  readonly nextDueAt: number;
  /** The key connectors are meant to hold now: ours once pushed, else the newest on the app. */
  readonly currentKeyId: string | undefined;
}

export interface DueInputs {
  readonly app: SecondaryApp;
  readonly record: TargetRecord;
  readonly policy: RotationPolicy;
  readonly now: number;
  readonly forced: boolean;
  /** Configured connectors Qualys does not list for this app yet (they need a secret to be registered). */
  readonly unregistered: readonly string[];
}

const time = (iso: string | null | undefined): number | undefined => {
  if (iso === null || iso === undefined) return undefined;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : undefined;
};

/**
 * Decides whether a target must rotate now. Age and expiry are read from the key connectors hold
 * (ours after the first rotation; before it, the newest key on the app — so the first start after
 * install adopts what exists and rotates only what is due).
 */
export function assessDue(inputs: DueInputs): DueAssessment {
  const { app, record, policy, now } = inputs;
  const reasons: string[] = [];
  const ours = app.passwords.find((password) => password.keyId === record.currentKeyId);
  const newest = [...app.passwords].sort(
    (a, b) => (time(b.startDateTime) ?? 0) - (time(a.startDateTime) ?? 0),
  )[0];
  const current = ours ?? newest;
  let nextDueAt = now;
  if (inputs.forced) reasons.push('forced');
  if (current === undefined) {
    reasons.push('the app has no password');
  } else {
    const start = time(current.startDateTime) ?? now;
    const end = time(current.endDateTime) ?? Number.POSITIVE_INFINITY;
    nextDueAt = Math.min(start + policy.intervalMs, end - policy.rotateBeforeExpiryMs);
    if (now >= start + policy.intervalMs) reasons.push(`the key is older than the rotation interval`);
    if (now >= end - policy.rotateBeforeExpiryMs) reasons.push('the key expires within rotateBeforeExpiry');
    if (record.currentKeyId !== undefined && ours === undefined)
      reasons.push('the key connectors hold is gone from the app');
  }
  if (inputs.unregistered.length > 0)
    reasons.push(`connectors to register: ${inputs.unregistered.join(', ')}`);
  if (record.rotateAgain === true) reasons.push('a previous push could not be confirmed');
  // A connector whose key we do not know (set up by hand) is left alone until the key is due anyway.
  return {
    due: reasons.length > 0,
    reasons,
    nextDueAt: reasons.length > 0 ? now : nextDueAt,
    currentKeyId: current?.keyId,
  };
}
