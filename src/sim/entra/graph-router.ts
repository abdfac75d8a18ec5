import { jsonReply, type JsonParseResult, type SimReply } from '../shared/http-helpers.ts';
import type { FaultDecision } from './faults.ts';
import { addPassword, getApplication, listApplications, removePassword } from './graph-applications.ts';
import { batchEntry, parseBatch, type BatchSubRequest } from './graph-batch.ts';
import type { GraphCall, GraphContext } from './graph-call.ts';
import {
  graphCodeForStatus,
  graphError,
  throttled,
  unreadablePayload,
  type GraphRequestIds,
} from './graph-errors.ts';
import { graphRouteOf, GRAPH_VERSION, type GraphRoute } from './graph-routes.ts';
import type { EntraGraphEndpoint } from './endpoints.ts';
import type { TokenCheck } from './jwt.ts';

/** A request that arrived on the Graph listener, before authentication. */
export interface GraphRequest {
  readonly method: string;
  readonly route: GraphRoute;
  readonly query: URLSearchParams;
  readonly json: JsonParseResult | undefined;
  readonly auth: TokenCheck;
  readonly ids: GraphRequestIds;
  readonly nowMs: number;
}

export interface GraphRouterContext extends GraphContext {
  /** Told of every $batch sub-request, which counts apart from the calls. */
  readonly onBatchedRequest: (endpoint: EntraGraphEndpoint) => void;
}

export function graphFaultReply(
  fault: Exclude<FaultDecision, { kind: 'none' }>,
  ids: GraphRequestIds,
): SimReply {
  switch (fault.kind) {
    case 'hang':
      return { kind: 'hang' };
    case 'throttle':
      return throttled(fault.retryAfterSec, ids);
    case 'fail':
      return graphError(
        fault.status,
        graphCodeForStatus(fault.status),
        `Simulated failure (HTTP ${fault.status}).`,
        ids,
      );
  }
}

/** The operation itself, once admitted: method check, then the handler. */
function dispatch(call: GraphCall, context: GraphRouterContext): SimReply {
  const { route } = call;
  if (route.endpoint === 'other') {
    return graphError(400, 'BadRequest', `Resource not found for the segment '${route.segment}'.`, call.ids);
  }
  if (call.method !== route.method) {
    return graphError(
      405,
      'Request_BadRequest',
      'Specified HTTP method is not allowed for the request uri.',
      call.ids,
    );
  }
  switch (route.endpoint) {
    case 'getApp':
      return getApplication(route.app, call, context);
    case 'listApps':
      return listApplications(call, context);
    case 'addPassword':
      return addPassword(route.app, call, context);
    case 'removePassword':
      return removePassword(route.app, call, context);
    case 'batch':
      return runBatch(call, context);
  }
}

/** Graph's per-tenant throttling, checked per operation (each $batch sub-request, not the envelope). */
function throttledOrDispatched(call: GraphCall, context: GraphRouterContext): SimReply {
  if (call.route.endpoint !== 'batch') {
    const verdict = context.limiter.take(call.caller.tenantId, call.nowMs);
    if (!verdict.allowed) return throttled(verdict.retryAfterSec, call.ids);
  }
  return dispatch(call, context);
}

/** Runs one sub-request with the envelope's caller, through the same faults, limits and handlers. */
function runSubRequest(sub: BatchSubRequest, parent: GraphCall, context: GraphRouterContext): SimReply {
  const url = new URL(`/${GRAPH_VERSION}/${sub.url.replace(/^\//, '')}`, 'https://graph.invalid');
  const route = graphRouteOf(safeDecode(url.pathname));
  context.onBatchedRequest(route.endpoint);
  const fault = context.faults.decide(route.endpoint);
  if (fault.kind !== 'none') return graphFaultReply(fault, parent.ids);
  if (route.endpoint === 'batch') {
    return graphError(
      400,
      'BadRequest',
      'A $batch request cannot contain another $batch request.',
      parent.ids,
    );
  }
  const call: GraphCall = {
    method: sub.method,
    route,
    query: url.searchParams,
    json: sub.body === undefined ? undefined : { ok: true, value: sub.body.value },
    caller: parent.caller,
    ids: parent.ids,
    nowMs: Date.now(),
  };
  return throttledOrDispatched(call, context);
}

/**
 * `POST /$batch`: up to 20 sub-requests, run in order. A sub-request that hangs leaves the whole
 * batch unanswered, as one slow operation holds up Graph's combined response.
 */
function runBatch(call: GraphCall, context: GraphRouterContext): SimReply {
  const batch = parseBatch(call.json);
  if (!batch.ok) {
    return batch.unreadable
      ? unreadablePayload(call.ids)
      : graphError(400, 'BadRequest', batch.message, call.ids);
  }
  const responses: Record<string, unknown>[] = [];
  for (const sub of batch.requests) {
    const reply = runSubRequest(sub, call, context);
    if (reply.kind === 'hang') return reply;
    responses.push(batchEntry(sub.id, reply));
  }
  return jsonReply(200, { responses });
}

/** Everything on the Graph listener after the body is read: faults, authentication, throttling, the operation. */
export function routeGraphRequest(request: GraphRequest, context: GraphRouterContext): SimReply {
  const fault = context.faults.decide(request.route.endpoint);
  if (fault.kind !== 'none') return graphFaultReply(fault, request.ids);
  if (!request.auth.ok) {
    return graphError(401, 'InvalidAuthenticationToken', request.auth.message, request.ids, {
      'WWW-Authenticate': 'Bearer realm="", error="invalid_token"',
    });
  }
  const call: GraphCall = {
    method: request.method,
    route: request.route,
    query: request.query,
    json: request.json,
    caller: request.auth.caller,
    ids: request.ids,
    nowMs: request.nowMs,
  };
  return throttledOrDispatched(call, context);
}

/** Percent-decodes a path; one that does not decode is left as it is and will not match a route. */
export function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
