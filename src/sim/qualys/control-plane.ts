import { jsonReply, parseJsonText, type BodyReadResult, type SimResponse } from '../shared/http-helpers.ts';
import type { QualysFaults } from './faults.ts';
import { parseFaultsPatch } from './faults.ts';

export const CONTROL_PLANE_PREFIX = '/__sim/';

/** What the control plane shows: mappings and counts, never a secret or a token. */
export interface SimStateView {
  readonly live: Record<string, string[]>;
  readonly cache: Record<string, string[]>;
  readonly connectors: string[];
  readonly callCounts: Record<string, number>;
  readonly faults: QualysFaults;
}

export interface ControlPlaneTarget {
  stateView(): SimStateView;
  setFaults(patch: Partial<QualysFaults>): void;
  resetFaults(): void;
  addConnector(connectorId: string): void;
  revokeTokens(): void;
}

const METHODS: ReadonlyMap<string, string> = new Map([
  ['/__sim/state', 'GET'],
  ['/__sim/faults', 'POST'],
  ['/__sim/reset-faults', 'POST'],
  ['/__sim/connectors', 'POST'],
  ['/__sim/revoke-tokens', 'POST'],
]);

function parseJson(body: BodyReadResult): { ok: true; value: unknown } | { ok: false; reply: SimResponse } {
  if (body.kind === 'too-large')
    return { ok: false, reply: jsonReply(413, { message: 'Request body too large' }) };
  const json = parseJsonText(body.text === '' ? '{}' : body.text);
  return json.ok ? json : { ok: false, reply: jsonReply(400, { message: 'request body is not valid JSON' }) };
}

/**
 * The simulator's own HTTP API, so that another process (the demo, the benchmarks) can inject faults
 * and read the state. Unauthenticated, not rate-limited and not recorded: it is not part of Qualys.
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
    case '/__sim/revoke-tokens':
      target.revokeTokens();
      return jsonReply(200, { message: 'All tokens issued so far are revoked' });
    case '/__sim/faults': {
      const json = parseJson(body);
      if (!json.ok) return json.reply;
      const parsed = parseFaultsPatch(json.value);
      if (!parsed.ok) return jsonReply(400, { message: parsed.problems.join('; ') });
      target.setFaults(parsed.patch);
      return jsonReply(200, { faults: target.stateView().faults });
    }
    case '/__sim/connectors': {
      const json = parseJson(body);
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
    }
    default:
      return jsonReply(404, { message: `No control-plane endpoint ${path}` });
  }
}
