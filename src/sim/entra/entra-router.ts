import { jsonReply, textReply, type SimReply } from '../shared/http-helpers.ts';
import type { DirectoryState } from './directory-state.ts';
import { entraError } from './entra-errors.ts';
import type { EntraRoute } from './entra-routes.ts';
import type { FaultDecision, FaultInjector } from './faults.ts';
import type { AccessTokenIssuer } from './jwt.ts';
import { handleMsiRequest, type ManagedIdentity } from './msi-endpoint.ts';
import { openIdConfiguration } from './openid-configuration.ts';
import { handleTokenRequest, unknownTenant } from './token-endpoint.ts';

/** A request on the Entra listener, body read. */
export interface EntraRequest {
  readonly method: string;
  readonly route: EntraRoute;
  readonly query: URLSearchParams;
  readonly mediaType: string;
  readonly body: string;
  readonly identityHeader: string | undefined;
  /** MSAL's client-request-id when it sent one, echoed as Entra's correlation id. */
  readonly correlationId: string;
  readonly nowMs: number;
}

export interface EntraContext {
  readonly directory: DirectoryState;
  readonly issuer: AccessTokenIssuer;
  readonly faults: FaultInjector;
  readonly authorityHost: string;
  readonly graphEndpoint: string;
  readonly tokenTtlSec: number;
  readonly managedIdentity: ManagedIdentity | undefined;
  readonly msiHeader: string;
}

function faultReply(fault: Exclude<FaultDecision, { kind: 'none' }>, request: EntraRequest): SimReply {
  if (fault.kind === 'hang') return { kind: 'hang' };
  const status = fault.kind === 'throttle' ? 429 : fault.status;
  const headers: Record<string, string> =
    fault.kind === 'throttle' ? { 'Retry-After': String(fault.retryAfterSec) } : {};
  if (request.route.endpoint === 'msi') {
    return jsonReply(
      status,
      {
        statusCode: status,
        message: `Simulated failure (HTTP ${status}).`,
        correlationId: request.correlationId,
      },
      headers,
    );
  }
  return entraError(
    status,
    status >= 500 || status === 429 ? 'temporarily_unavailable' : 'invalid_request',
    90033,
    `A transient error has occurred. Please try again. (Simulated failure, HTTP ${status}.)`,
    request.correlationId,
    request.nowMs,
    headers,
  );
}

/**
 * Everything on the Entra listener: faults (only those that name token, openid or msi), then the
 * discovery document, the token endpoint, the managed-identity endpoint and the (empty) key set.
 */
export function routeEntraRequest(request: EntraRequest, context: EntraContext): SimReply {
  const { route } = request;
  const fault = context.faults.decide(route.endpoint);
  if (fault.kind !== 'none') return faultReply(fault, request);

  switch (route.endpoint) {
    case 'openid': {
      const tenantId = context.directory.tenant(route.tenantId ?? '');
      if (tenantId === undefined)
        return unknownTenant(route.tenantId ?? '', request.correlationId, request.nowMs);
      return jsonReply(200, openIdConfiguration(context.authorityHost, tenantId, context.graphEndpoint));
    }
    case 'token':
      return handleTokenRequest(
        {
          method: request.method,
          tenantId: route.tenantId ?? '',
          mediaType: request.mediaType,
          body: request.body,
          correlationId: request.correlationId,
          nowMs: request.nowMs,
        },
        context,
      );
    case 'msi':
      return handleMsiRequest(
        {
          method: request.method,
          query: request.query,
          identityHeader: request.identityHeader,
          correlationId: request.correlationId,
          nowMs: request.nowMs,
        },
        {
          identity: context.managedIdentity,
          expectedHeader: context.msiHeader,
          directory: context.directory,
          issuer: context.issuer,
          authorityHost: context.authorityHost,
          graphEndpoint: context.graphEndpoint,
          tokenTtlSec: context.tokenTtlSec,
        },
      );
    case 'other':
      // Tokens here are HMAC-signed and only this simulator reads them, so the key set is empty.
      if (route.jwks === true && context.directory.tenant(route.tenantId ?? '') !== undefined) {
        return jsonReply(200, { keys: [] });
      }
      return textReply(404, 'Not Found');
  }
}
