import {
  jsonReply,
  textReply,
  type BodyReadResult,
  type JsonParseResult,
  type SimReply,
} from '../shared/http-helpers.ts';
import { handleAuth, type GatewayCredentials } from './auth-endpoint.ts';
import { routeOf, type QualysEndpoint } from './endpoints.ts';
import type { FaultDecision, FaultInjector } from './faults.ts';
import type { TokenIssuer } from './jwt.ts';
import {
  deleteMappings,
  listMappings,
  registerOrUpdate,
  syncCache,
  type CredentialValidator,
} from './mapping-api.ts';
import { parseDeleteRequest, parseMappingRequest } from './mapping-request.ts';
import type { QualysState } from './state.ts';

/** One request that got past the rate and concurrency limits. */
export interface ApiRequest {
  readonly method: string;
  readonly path: string;
  readonly endpoint: QualysEndpoint;
  readonly mediaType: string;
  readonly authorization: string | undefined;
  readonly body: BodyReadResult;
  /** The body parsed as JSON, parsed once up front for the leak scan. */
  readonly json: JsonParseResult;
  readonly nowMs: number;
}

export interface ApiContext {
  readonly state: QualysState;
  readonly faults: FaultInjector;
  readonly issuer: TokenIssuer;
  readonly credentials: GatewayCredentials;
  readonly validateCredential: CredentialValidator;
  readonly listReadsCache: boolean;
  readonly blockStatus: 429 | 409;
}

function faultReply(fault: Exclude<FaultDecision, { kind: 'none' }>, endpoint: QualysEndpoint): SimReply {
  switch (fault.kind) {
    case 'hang':
      return { kind: 'hang' };
    case 'fail':
      return jsonReply(fault.status, { message: `Simulated failure (HTTP ${fault.status})` });
    case 'throttle': {
      const wait = String(fault.retryAfterSec);
      return jsonReply(
        fault.status,
        { message: `Too many requests; retry after ${wait} s` },
        { 'Retry-After': wait, 'X-RateLimit-ToWait-Sec': wait, 'X-RateLimit-Remaining': '0' },
      );
    }
    case 'malformed':
      // Cut off mid-document, as a proxy that drops the connection part-way would leave it.
      return {
        kind: 'respond',
        status: 200,
        contentType: 'application/json',
        body: endpoint === 'list' ? '[{"connectorUuid": ' : '{"successData": [',
        headers: {},
      };
  }
}

function unauthorized(message: string): SimReply {
  return jsonReply(401, { message }, { 'WWW-Authenticate': 'Bearer' });
}

function jsonBody(request: ApiRequest): { ok: true; value: unknown } | { ok: false; reply: SimReply } {
  if (request.mediaType !== 'application/json') {
    return { ok: false, reply: jsonReply(415, { message: 'Content-Type must be application/json' }) };
  }
  if (!request.json.ok)
    return { ok: false, reply: jsonReply(400, { message: 'request body is not valid JSON' }) };
  return { ok: true, value: request.json.value };
}

/**
 * Everything after admission, in the order the gateway would apply it: injected faults, body size,
 * authentication, routing, then the endpoint itself. Only the endpoint changes state.
 */
export async function routeApiRequest(request: ApiRequest, context: ApiContext): Promise<SimReply> {
  const fault = context.faults.decide(request.endpoint, context.blockStatus);
  if (fault.kind !== 'none') return faultReply(fault, request.endpoint);
  if (request.body.kind === 'too-large') return jsonReply(413, { message: 'Request body too large' });
  const body = request.body.text;

  const route = routeOf(request.path);
  if (route?.endpoint === 'auth') {
    if (request.method !== route.method) return textReply(405, 'Method not allowed', { Allow: route.method });
    return handleAuth(request.mediaType, body, context.credentials, context.issuer, request.nowMs);
  }

  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(request.authorization ?? '')?.[1];
  if (bearer === undefined) return unauthorized('Missing bearer token');
  const check = context.issuer.verify(bearer, request.nowMs);
  if (!check.ok) return unauthorized(check.reason);

  if (route === undefined) return jsonReply(404, { message: `No endpoint ${request.path}` });
  if (request.method !== route.method) {
    return jsonReply(405, { message: `Method ${request.method} not allowed` }, { Allow: route.method });
  }

  switch (route.endpoint) {
    case 'register':
    case 'update': {
      const json = jsonBody(request);
      if (!json.ok) return json.reply;
      const parsed = parseMappingRequest(json.value);
      if (!parsed.ok) return jsonReply(400, { message: parsed.message });
      return registerOrUpdate(route.endpoint, parsed.value, context.state, context.validateCredential);
    }
    case 'delete': {
      const json = jsonBody(request);
      if (!json.ok) return json.reply;
      const parsed = parseDeleteRequest(json.value);
      if (!parsed.ok) return jsonReply(400, { message: parsed.message });
      return deleteMappings(parsed.value, context.state);
    }
    case 'list': {
      const { state } = context;
      const snapshot = context.faults.takeStaleList()
        ? state.cacheBeforeLastSync()
        : context.listReadsCache
          ? state.cache()
          : state.live();
      return listMappings(snapshot);
    }
    case 'sync':
      return syncCache(context.state);
  }
}
