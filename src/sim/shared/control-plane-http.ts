import { jsonReply, parseJsonText, type BodyReadResult, type SimResponse } from './http-helpers.ts';
import type { FaultsPatchResult } from './fault-store.ts';

export const CONTROL_PLANE_PREFIX = '/__sim/';

/** What every simulator's control plane drives: its state view (with the faults) and its faults. */
export interface FaultsControlTarget<F, V extends { readonly faults: F } = { readonly faults: F }> {
  stateView(): V;
  setFaults(patch: Partial<F>): void;
  resetFaults(): void;
}

export type ControlPlaneHandler<T> = (
  method: string,
  path: string,
  body: BodyReadResult,
  target: T,
) => SimResponse;

/** A simulator's own control-plane endpoint beyond state and faults. */
export interface ControlPlaneRoute {
  readonly method: string;
  handle(body: BodyReadResult): SimResponse;
}

/** The request body as JSON (an empty body reads as `{}`), or the reply that refuses it. */
export function readJsonBody(
  body: BodyReadResult,
): { ok: true; value: unknown } | { ok: false; reply: SimResponse } {
  if (body.kind === 'too-large')
    return { ok: false, reply: jsonReply(413, { message: 'Request body too large' }) };
  const json = parseJsonText(body.text === '' ? '{}' : body.text);
  return json.ok ? json : { ok: false, reply: jsonReply(400, { message: 'request body is not valid JSON' }) };
}

/**
 * A simulator's control plane: GET state, POST faults (a patch checked by `parseFaults`), POST
 * reset-faults, and the simulator's own `extraRoutes`; 404 for any other path, 405 for a wrong method.
 */
export function controlPlaneHandler<F, T extends FaultsControlTarget<F>>(
  parseFaults: (value: unknown) => FaultsPatchResult<F>,
  extraRoutes: (target: T) => ReadonlyMap<string, ControlPlaneRoute> = () => new Map(),
): ControlPlaneHandler<T> {
  return (method, path, body, target) =>
    handleControlPlaneRequest(method, path, body, target, parseFaults, extraRoutes(target));
}

function handleControlPlaneRequest<F>(
  method: string,
  path: string,
  body: BodyReadResult,
  target: FaultsControlTarget<F>,
  parseFaults: (value: unknown) => FaultsPatchResult<F>,
  extra: ReadonlyMap<string, ControlPlaneRoute>,
): SimResponse {
  const routes = new Map<string, ControlPlaneRoute>([
    [`${CONTROL_PLANE_PREFIX}state`, { method: 'GET', handle: () => jsonReply(200, target.stateView()) }],
    [
      `${CONTROL_PLANE_PREFIX}faults`,
      {
        method: 'POST',
        handle: (faultsBody) => {
          const json = readJsonBody(faultsBody);
          if (!json.ok) return json.reply;
          const parsed = parseFaults(json.value);
          if (!parsed.ok) return jsonReply(400, { message: parsed.problems.join('; ') });
          target.setFaults(parsed.patch);
          return jsonReply(200, { faults: target.stateView().faults });
        },
      },
    ],
    [
      `${CONTROL_PLANE_PREFIX}reset-faults`,
      {
        method: 'POST',
        handle: () => {
          target.resetFaults();
          return jsonReply(200, { faults: target.stateView().faults });
        },
      },
    ],
    ...extra,
  ]);
  const route = routes.get(path);
  if (route === undefined) return jsonReply(404, { message: `No control-plane endpoint ${path}` });
  if (method !== route.method)
    return jsonReply(405, { message: `Use ${route.method}` }, { Allow: route.method });
  return route.handle(body);
}
