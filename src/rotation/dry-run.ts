import type { SecondaryApp } from '../azure/types.ts';
import type { RotationPolicy, TargetConfig } from '../config/types.ts';
import { assessDue } from './due.ts';
import { applyPushOutcomes } from './ledger-updates.ts';
import type { TargetRecord } from './ledger-model.ts';
import { planRetirement } from './retire-plan.ts';

/** What a rotation of one target would do, computed without touching anything. */
export interface RotationPlan {
  readonly appId: string;
  readonly tenantId: string;
  readonly due: boolean;
  readonly reasons: readonly string[];
  readonly nextDueAt: string;
  readonly currentKeyId: string | undefined;
  /** The key that would be created. */
  readonly create?: { readonly displayName: string; readonly endDateTime: string } | undefined;
  readonly update: readonly string[];
  readonly register: readonly string[];
  /** Keys that would be removed right after the rotation, and those that would follow after the grace period. */
  readonly retireNow: readonly string[];
  readonly retireLater: readonly { readonly keyId: string; readonly notBefore: string }[];
  readonly kept: readonly { readonly keyId: string; readonly reason: string }[];
  readonly retireBlockedBy?: string | undefined;
  readonly drift: readonly string[];
  /** An interrupted rotation the next run would finish or undo first. */
  readonly interrupted?: { readonly rotationId: string; readonly step: string } | undefined;
}

const PLANNED_KEY = '(new key)';

/** A pure function: the plan for one target from what Graph, Qualys and the ledger say now. */
export function planRotation(inputs: {
  target: TargetConfig;
  app: SecondaryApp;
  record: TargetRecord;
  listed: readonly string[];
  policy: RotationPolicy;
  now: number;
  forced: boolean;
}): RotationPlan {
  const { target, app, record, listed, policy, now } = inputs;
  const unregistered = target.connectors.filter((connector) => !listed.includes(connector));
  const drift = listed.filter((connector) => !target.connectors.includes(connector));
  const due = assessDue({ app, record, policy, now, forced: inputs.forced, unregistered });
  const common = {
    appId: target.appId,
    tenantId: target.tenantId,
    due: due.due,
    reasons: due.reasons,
    nextDueAt: new Date(due.nextDueAt).toISOString(),
    currentKeyId: due.currentKeyId,
    drift,
    interrupted: record.inFlight
      ? { rotationId: record.inFlight.rotationId, step: record.inFlight.step }
      : undefined,
  };
  // Retirement as it would stand once the new key reached every connector.
  const after: TargetRecord = due.due
    ? {
        ...applyPushOutcomes(
          record,
          PLANNED_KEY,
          Object.fromEntries(target.connectors.map((connector) => [connector, 'succeeded' as const])),
          now,
          'planned',
        ),
        currentKeyId: PLANNED_KEY,
        allKnownSince: record.allKnownSince ?? new Date(now).toISOString(),
      }
    : record;
  const retire = planRetirement({
    app,
    record: after,
    policy,
    now,
    connectors: target.connectors,
    driftConnectors: drift,
  });
  return {
    ...common,
    create: due.due
      ? {
          displayName: 'rotator <rotation id>',
          endDateTime: new Date(now + policy.secretLifetimeMs).toISOString(),
        }
      : undefined,
    update: due.due ? target.connectors.filter((connector) => listed.includes(connector)) : [],
    register: due.due ? unregistered : [],
    retireNow: retire.removeNow,
    retireLater: retire.later.map((entry) => ({
      keyId: entry.keyId,
      notBefore: new Date(entry.notBefore).toISOString(),
    })),
    kept: retire.kept.filter((entry) => entry.keyId !== PLANNED_KEY),
    retireBlockedBy: retire.blockedBy,
  };
}
