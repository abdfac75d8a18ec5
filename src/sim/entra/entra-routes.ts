import type { EntraGraphEndpoint } from './endpoints.ts';

export interface EntraRoute {
  readonly endpoint: Extract<EntraGraphEndpoint, 'openid' | 'token' | 'msi' | 'other'>;
  /** The tenant named in the path, as written there. */
  readonly tenantId?: string;
  /** True for the tenant's JSON Web Key Set, which MSAL names but never fetches for client credentials. */
  readonly jwks?: boolean;
}

export const MSI_PATH = '/msi/token';

/** Classifies a path of the Entra listener (query string already removed, percent-decoded). */
export function entraRouteOf(path: string): EntraRoute {
  if (path === MSI_PATH) return { endpoint: 'msi' };
  const segments = path.split('/').filter((segment) => segment !== '');
  const [tenantId, ...rest] = segments;
  if (tenantId === undefined) return { endpoint: 'other' };
  const tail = rest.join('/');
  if (tail === 'v2.0/.well-known/openid-configuration') return { endpoint: 'openid', tenantId };
  if (tail === 'oauth2/v2.0/token') return { endpoint: 'token', tenantId };
  if (tail === 'discovery/v2.0/keys') return { endpoint: 'other', tenantId, jwks: true };
  return { endpoint: 'other' };
}
