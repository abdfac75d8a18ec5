import { jsonReply, type SimReply } from '../shared/http-helpers.ts';
import { sameText, type DirectoryState } from './directory-state.ts';
import type { AccessTokenIssuer } from './jwt.ts';

export const MSI_API_VERSION = '2019-08-01';

export interface ManagedIdentity {
  readonly tenantId: string;
  readonly clientId: string;
}

export interface MsiRequest {
  readonly method: string;
  readonly query: URLSearchParams;
  readonly identityHeader: string | undefined;
  readonly correlationId: string;
  readonly nowMs: number;
}

export interface MsiContext {
  readonly identity: ManagedIdentity | undefined;
  readonly expectedHeader: string;
  readonly directory: DirectoryState;
  readonly issuer: AccessTokenIssuer;
  readonly authorityHost: string;
  readonly graphEndpoint: string;
  readonly tokenTtlSec: number;
}

/** App Service's local token service answers errors in its own shape, not Entra's. */
function msiError(status: number, message: string, correlationId: string): SimReply {
  return jsonReply(status, { statusCode: status, message, correlationId });
}

/**
 * The App Service managed-identity endpoint (IDENTITY_ENDPOINT, API version 2019-08-01):
 * `GET ?resource=…&api-version=2019-08-01[&client_id=…]` with the `X-IDENTITY-HEADER` secret.
 */
export function handleMsiRequest(request: MsiRequest, context: MsiContext): SimReply {
  const { query, correlationId } = request;
  if (request.method !== 'GET') return msiError(405, 'Only GET is supported.', correlationId);
  if (request.identityHeader === undefined || !sameText(request.identityHeader, context.expectedHeader)) {
    return msiError(
      401,
      'The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER.',
      correlationId,
    );
  }
  if (query.get('api-version') !== MSI_API_VERSION) {
    return msiError(400, `The api-version must be ${MSI_API_VERSION}.`, correlationId);
  }
  const identity = context.identity;
  const requestedClientId = query.get('client_id');
  const matches =
    identity !== undefined &&
    (requestedClientId === null || requestedClientId.toLowerCase() === identity.clientId.toLowerCase());
  if (identity === undefined || !matches) {
    return msiError(400, 'Unable to load the proper Managed Identity.', correlationId);
  }
  const resource = query.get('resource') ?? '';
  // Entra accepts a resource URI with or without the trailing slash.
  if (resource.replace(/\/$/, '') !== context.graphEndpoint) {
    return msiError(
      400,
      `AADSTS500011: The resource principal named ${resource} was not found in the tenant named ${identity.tenantId}. This simulator issues tokens for ${context.graphEndpoint} only.`,
      correlationId,
    );
  }
  const tenantId = context.directory.tenant(identity.tenantId) ?? identity.tenantId;
  const { token, expiresAtMs } = context.issuer.issue(
    {
      tenantId,
      clientId: identity.clientId,
      objectId: context.directory.principalId(tenantId, identity.clientId),
      audience: context.graphEndpoint,
      issuer: `${context.authorityHost}/${tenantId}/`,
    },
    request.nowMs,
    context.tokenTtlSec * 1000,
  );
  return jsonReply(200, {
    access_token: token,
    expires_on: String(Math.floor(expiresAtMs / 1000)),
    resource,
    token_type: 'Bearer',
    client_id: identity.clientId,
  });
}
