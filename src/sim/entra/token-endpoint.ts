import { jsonReply, type SimReply } from '../shared/http-helpers.ts';
import { checkClientAssertion, JWT_BEARER_ASSERTION_TYPE } from './client-assertion.ts';
import { sameTenant, sameText, type DirectoryState } from './directory-state.ts';
import { entraError } from './entra-errors.ts';
import type { AccessTokenIssuer } from './jwt.ts';

export interface TokenRequest {
  readonly method: string;
  /** As written in the path. */
  readonly tenantId: string;
  readonly mediaType: string;
  readonly body: string;
  readonly correlationId: string;
  readonly nowMs: number;
}

export interface TokenContext {
  readonly directory: DirectoryState;
  readonly issuer: AccessTokenIssuer;
  readonly authorityHost: string;
  readonly graphEndpoint: string;
  readonly tokenTtlSec: number;
}

/** Which credential proved the client's identity, or which Entra error refused it. */
type Authentication =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly status: number;
      readonly error: string;
      readonly code: number;
      readonly description: string;
    };

function refuse(status: number, error: string, code: number, description: string): Authentication {
  return { ok: false, status, error, code, description };
}

/**
 * Checks the credential a client presented. The client id may be a SimClient (the rotator itself) or
 * the appId of a SimApp: the readiness probe of a new secret signs in as the app it belongs to.
 */
function authenticate(
  form: URLSearchParams,
  tenantId: string,
  clientId: string,
  context: TokenContext,
  nowMs: number,
): Authentication {
  const { directory } = context;
  const client = directory.client(tenantId, clientId);
  const appInTenant = directory.appByAppId(clientId);
  const app =
    appInTenant !== undefined && sameTenant(appInTenant.tenantId, tenantId) ? appInTenant : undefined;
  if (client === undefined && app === undefined) {
    return refuse(
      400,
      'unauthorized_client',
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    );
  }

  const assertion = form.get('client_assertion');
  if (assertion !== null) {
    if (form.get('client_assertion_type') !== JWT_BEARER_ASSERTION_TYPE) {
      return refuse(
        400,
        'invalid_request',
        900144,
        "The request body must contain the following parameter: 'client_assertion_type'.",
      );
    }
    const verdict = checkClientAssertion(client, assertion);
    return verdict.ok ? verdict : refuse(401, 'invalid_client', verdict.code, verdict.description);
  }

  const secret = form.get('client_secret');
  if (secret === null) {
    return refuse(
      401,
      'invalid_client',
      7000218,
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    );
  }
  if (client?.secret !== undefined && sameText(client.secret, secret)) return { ok: true };
  const verdict = app === undefined ? 'invalid' : directory.checkAppSecret(app.appId, secret, nowMs);
  if (verdict === 'valid') return { ok: true };
  if (verdict === 'expired') {
    return refuse(
      401,
      'invalid_client',
      7000222,
      `The provided client secret keys for app '${clientId}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.`,
    );
  }
  // Also what Entra answers while a new secret is still propagating.
  return refuse(
    401,
    'invalid_client',
    7000215,
    `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
  );
}

/** `POST /{tenant}/oauth2/v2.0/token`, the client-credentials grant only. */
export function handleTokenRequest(request: TokenRequest, context: TokenContext): SimReply {
  const fail = (status: number, error: string, code: number, description: string): SimReply =>
    entraError(status, error, code, description, request.correlationId, request.nowMs);
  if (request.method !== 'POST') {
    return fail(
      400,
      'invalid_request',
      900561,
      `The endpoint only accepts POST requests. Received a ${request.method} request.`,
    );
  }
  const tenantId = context.directory.tenant(request.tenantId);
  if (tenantId === undefined) return unknownTenant(request.tenantId, request.correlationId, request.nowMs);

  // Entra reads only form bodies: anything else looks like a request without parameters.
  const form = new URLSearchParams(
    request.mediaType === 'application/x-www-form-urlencoded' ? request.body : '',
  );
  for (const parameter of ['grant_type', 'client_id', 'scope']) {
    if ((form.get(parameter) ?? '') === '') {
      return fail(
        400,
        'invalid_request',
        900144,
        `The request body must contain the following parameter: '${parameter}'.`,
      );
    }
  }
  const grantType = form.get('grant_type') ?? '';
  if (grantType !== 'client_credentials') {
    return fail(
      400,
      'unsupported_grant_type',
      70003,
      `The app requested an unsupported grant type '${grantType}'.`,
    );
  }
  const scope = form.get('scope') ?? '';
  const expectedScope = `${context.graphEndpoint}/.default`;
  if (scope !== expectedScope) {
    return fail(
      400,
      'invalid_scope',
      70011,
      `The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope ${scope} is not valid. This simulator issues tokens for ${expectedScope} only.`,
    );
  }
  const clientId = form.get('client_id') ?? '';
  const authentication = authenticate(form, tenantId, clientId, context, request.nowMs);
  if (!authentication.ok) {
    return fail(authentication.status, authentication.error, authentication.code, authentication.description);
  }

  const ttlMs = context.tokenTtlSec * 1000;
  const { token } = context.issuer.issue(
    {
      tenantId,
      clientId,
      objectId: context.directory.principalId(tenantId, clientId),
      audience: context.graphEndpoint,
      issuer: `${context.authorityHost}/${tenantId}/`,
    },
    request.nowMs,
    ttlMs,
  );
  return jsonReply(
    200,
    {
      token_type: 'Bearer',
      expires_in: context.tokenTtlSec,
      ext_expires_in: context.tokenTtlSec,
      access_token: token,
    },
    { 'Cache-Control': 'no-store, no-cache', Pragma: 'no-cache' },
  );
}

/** What both the discovery document and the token endpoint answer for a tenant Entra does not know. */
export function unknownTenant(tenantId: string, correlationId: string, nowMs: number): SimReply {
  return entraError(
    400,
    'invalid_tenant',
    90002,
    `Tenant '${tenantId}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
    correlationId,
    nowMs,
  );
}
