import type { TargetConfig } from '../config/types.ts';
import type { ConnectorMapping } from '../qualys/types.ts';

export interface PrunePlan {
  /** Pairs of configured apps that Qualys lists for connectors the configuration does not name. */
  readonly remove: readonly ConnectorMapping[];
  /** Apps Qualys lists that the configuration does not manage at all: reported, never touched. */
  readonly foreignApps: readonly ConnectorMapping[];
}

/**
 * Drift between Qualys and the configuration. Only pairs of apps the rotator manages are candidates for
 * removal; apps it does not know may belong to someone else.
 */
export function planPrune(targets: readonly TargetConfig[], listing: readonly ConnectorMapping[]): PrunePlan {
  const configured = new Map(targets.map((target) => [target.appId, new Set(target.connectors)]));
  const remove: ConnectorMapping[] = [];
  const foreignApps: ConnectorMapping[] = [];
  for (const mapping of listing) {
    const ours = mapping.appIds.filter(
      (appId) => configured.has(appId) && !configured.get(appId)?.has(mapping.connectorId),
    );
    const foreign = mapping.appIds.filter((appId) => !configured.has(appId));
    if (ours.length > 0) remove.push({ connectorId: mapping.connectorId, appIds: ours });
    if (foreign.length > 0) foreignApps.push({ connectorId: mapping.connectorId, appIds: foreign });
  }
  return { remove, foreignApps };
}
