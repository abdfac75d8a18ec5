export type EntraGraphEndpoint =
  'openid' | 'token' | 'msi' | 'getApp' | 'listApps' | 'addPassword' | 'removePassword' | 'batch' | 'other';

export const ALL_ENDPOINTS: readonly EntraGraphEndpoint[] = [
  'openid',
  'token',
  'msi',
  'getApp',
  'listApps',
  'addPassword',
  'removePassword',
  'batch',
  'other',
];

const GRAPH_API: ReadonlySet<EntraGraphEndpoint> = new Set([
  'getApp',
  'listApps',
  'addPassword',
  'removePassword',
  'batch',
]);

/** The Graph operations proper: what faults, latency and errorRate target when they name no endpoints. */
export function isGraphApi(endpoint: EntraGraphEndpoint): boolean {
  return GRAPH_API.has(endpoint);
}

export function isEntraGraphEndpoint(value: unknown): value is EntraGraphEndpoint {
  return typeof value === 'string' && (ALL_ENDPOINTS as readonly string[]).includes(value);
}
