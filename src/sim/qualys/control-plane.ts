import {
  controlPlaneHandler,
  readJsonBody,
  type ControlPlaneRoute,
  type FaultsControlTarget,
} from '../shared/control-plane-http.ts';
import { jsonReply } from '../shared/http-helpers.ts';
import { parseFaultsPatch, type QualysFaults } from './faults.ts';

export { CONTROL_PLANE_PREFIX } from '../shared/control-plane-http.ts';

/** What the control plane shows: mappings and counts, never a secret or a token. */
export interface SimStateView {
  readonly live: Record<string, string[]>;
  readonly cache: Record<string, string[]>;
  readonly connectors: string[];
  readonly callCounts: Record<string, number>;
  readonly faults: QualysFaults;
}

export interface ControlPlaneTarget extends FaultsControlTarget<QualysFaults, SimStateView> {
  addConnector(connectorId: string): void;
  revokeTokens(): void;
}

function qualysRoutes(target: ControlPlaneTarget): ReadonlyMap<string, ControlPlaneRoute> {
  return new Map<string, ControlPlaneRoute>([
    [
      '/__sim/connectors',
      {
        method: 'POST',
        handle: (body) => {
          const json = readJsonBody(body);
          if (!json.ok) return json.reply;
          const connectorId: unknown =
            typeof json.value === 'object' && json.value !== null
              ? (json.value as Record<string, unknown>)['connectorId']
              : undefined;
          if (typeof connectorId !== 'string' || connectorId === '') {
            return jsonReply(400, { message: 'connectorId must be a non-empty string' });
          }
          target.addConnector(connectorId);
          return jsonReply(200, { connectorId });
        },
      },
    ],
    [
      '/__sim/revoke-tokens',
      {
        method: 'POST',
        handle: () => {
          target.revokeTokens();
          return jsonReply(200, { message: 'All tokens issued so far are revoked' });
        },
      },
    ],
  ]);
}

/**
 * The simulator's own HTTP API, so that another process (the demo, the benchmarks) can inject faults
 * and read the state. Unauthenticated, not rate-limited and not recorded: it is not part of Qualys.
 */
export const handleControlPlane = controlPlaneHandler<QualysFaults, ControlPlaneTarget>(
  parseFaultsPatch,
  qualysRoutes,
);
