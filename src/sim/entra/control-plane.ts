import { controlPlaneHandler, type FaultsControlTarget } from '../shared/control-plane-http.ts';
import type { SimApp, SimPassword } from './directory-state.ts';
import { parseFaultsPatch, type EntraGraphFaults } from './faults.ts';

export { CONTROL_PLANE_PREFIX } from '../shared/control-plane-http.ts';

/** What the control plane shows: apps with password metadata and counts, never a secret or a token. */
export interface EntraSimStateView {
  readonly apps: readonly (SimApp & { readonly passwords: readonly SimPassword[] })[];
  readonly clients: readonly { readonly tenantId: string; readonly clientId: string }[];
  readonly managedIdentity: { readonly tenantId: string; readonly clientId: string } | null;
  readonly callCounts: Record<string, number>;
  readonly batchedRequestCounts: Record<string, number>;
  readonly faults: EntraGraphFaults;
}

export type ControlPlaneTarget = FaultsControlTarget<EntraGraphFaults, EntraSimStateView>;

/**
 * The simulator's own HTTP API on the Graph listener, so another process (the demo, a benchmark) can
 * inject faults and read the state. Unauthenticated, not rate-limited, not recorded: not part of Graph.
 */
export const handleControlPlane = controlPlaneHandler<EntraGraphFaults, ControlPlaneTarget>(parseFaultsPatch);
