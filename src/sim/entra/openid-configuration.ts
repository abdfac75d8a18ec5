/**
 * The tenant's OpenID Connect discovery document, shaped like Entra's v2.0 one. MSAL Node (7.x, as
 * @azure/identity 4 drives it) needs four fields and ignores the rest for client credentials:
 * - `token_endpoint`, where it posts the grant (any URL; it appends `?client-request-id=…`);
 * - `authorization_endpoint`, a non-empty URL: MSAL reads the tenant from its first path segment;
 * - `issuer`, with the same scheme, host and port as the authority (the path is not checked);
 * - `jwks_uri`, which only has to be present (even '' passes).
 * A missing one, or an issuer on another origin, fails with `endpoints_resolution_error`.
 */
export function openIdConfiguration(authorityHost: string, tenantId: string, graphEndpoint: string): object {
  const tenantBase = `${authorityHost}/${tenantId}`;
  return {
    token_endpoint: `${tenantBase}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${tenantBase}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `${tenantBase}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${graphEndpoint}/oidc/userinfo`,
    authorization_endpoint: `${tenantBase}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${tenantBase}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${tenantBase}/oauth2/v2.0/logout`,
    claims_supported: [
      'sub',
      'iss',
      'cloud_instance_name',
      'cloud_instance_host_name',
      'cloud_graph_host_name',
      'msgraph_host',
      'aud',
      'exp',
      'iat',
      'auth_time',
      'acr',
      'nonce',
      'preferred_username',
      'name',
      'tid',
      'ver',
      'at_hash',
      'c_hash',
      'email',
    ],
    kerberos_endpoint: `${tenantBase}/kerberos`,
    tenant_region_scope: null,
    cloud_instance_name: new URL(authorityHost).host,
    cloud_graph_host_name: new URL(graphEndpoint).host,
    msgraph_host: new URL(graphEndpoint).host,
    rbac_url: graphEndpoint,
  };
}
