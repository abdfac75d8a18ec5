import type { TargetConfig } from '../config/types.ts';
import type { TargetRecord } from '../rotation/ledger-model.ts';

export interface SweepPlan {
  /** Targets to hand to a rotate job (which still decides with Graph whether to rotate). */
  readonly rotate: readonly { readonly appId: string; readonly reason: string }[];
  /** Targets with removals whose grace period is over. */
  readonly retire: readonly string[];
}

/**
 * What the periodic sweep enqueues, from the ledger alone: no upstream call per target when nothing
 * is due. A target the ledger does not know yet gets one rotate job, which adopts it (and records when
 * it will be due). A pure function.
 */
export function planSweep(
  targets: readonly TargetConfig[],
  records: ReadonlyMap<string, TargetRecord>,
  now: number,
): SweepPlan {
  const rotate: { appId: string; reason: string }[] = [];
  const retire: string[] = [];
  for (const target of targets) {
    const record = records.get(target.appId);
    const reason = dueReason(target, record, now);
    if (reason !== undefined) rotate.push({ appId: target.appId, reason });
    else if (record?.pendingRetirements.some((entry) => Date.parse(entry.notBefore) <= now))
      retire.push(target.appId);
  }
  return { rotate, retire };
}

function dueReason(target: TargetConfig, record: TargetRecord | undefined, now: number): string | undefined {
  if (record === undefined) return 'not adopted yet';
  if (record.inFlight !== undefined) return 'an interrupted rotation to finish';
  if (record.rotateAgain === true) return 'a push to confirm';
  if (record.nextDueAt === undefined || Date.parse(record.nextDueAt) <= now) return 'due';
  const seen = new Set(record.connectorsSeen ?? []);
  if (target.connectors.some((connector) => !seen.has(connector))) return 'a connector was added';
  return undefined;
}
