import { jsonReply, parseJsonText, type BodyReadResult, type SimResponse } from '../shared/http-helpers.ts';
import type { SimApp, SimPassword } from './directory-state.ts';
import { parseFaultsPatch, type EntraGraphFaults } from './faults.ts';

export const CONTROL_PLANE_PREFIX = '/__sim/';

/** What the control plane shows: apps with password metadata and counts, never a secret or a token. */
export interface EntraSimStateView {
  readonly apps: readonly (SimApp & { readonly passwords: readonly SimPassword[] })[];
  readonly clients: readonly { readonly tenantId: string; readonly clientId: string }[];
  readonly managedIdentity: { readonly tenantId: string; readonly clientId: string } | null;
  readonly callCounts: Record<string, number>;
  readonly batchedRequestCounts: Record<string, number>;
  readonly faults: EntraGraphFaults;
}

export interface ControlPlaneTarget {
  stateView(): EntraSimStateView;
  setFaults(patch: Partial<EntraGraphFaults>): void;
  resetFaults(): void;
}

const METHODS: ReadonlyMap<string, string> = new Map([
  ['/__sim/state', 'GET'],
  ['/__sim/faults', 'POST'],
  ['/__sim/reset-faults', 'POST'],
]);

/**
 * The simulator's own HTTP API on the Graph listener, so another process (the demo, a benchmark) can
 * inject faults and read the state. Unauthenticated, not rate-limited, not recorded: not part of Graph.
 */
export function handleControlPlane(
  method: string,
  path: string,
  body: BodyReadResult,
  target: ControlPlaneTarget,
): SimResponse {
  const expected = METHODS.get(path);
  if (expected === undefined) return jsonReply(404, { message: `No control-plane endpoint ${path}` });
  if (method !== expected) return jsonReply(405, { message: `Use ${expected}` }, { Allow: expected });

  switch (path) {
    case '/__sim/state':
      return jsonReply(200, target.stateView());
    case '/__sim/reset-faults':
      target.resetFaults();
      return jsonReply(200, { faults: target.stateView().faults });
    default: {
      if (body.kind === 'too-large') return jsonReply(413, { message: 'Request body too large' });
      const json = parseJsonText(body.text === '' ? '{}' : body.text);
      if (!json.ok) return jsonReply(400, { message: 'request body is not valid JSON' });
      const parsed = parseFaultsPatch(json.value);
      if (!parsed.ok) return jsonReply(400, { message: parsed.problems.join('; ') });
      target.setFaults(parsed.patch);
      return jsonReply(200, { faults: target.stateView().faults });
    }
  }
}
