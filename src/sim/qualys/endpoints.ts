export type QualysEndpoint = 'auth' | 'register' | 'update' | 'list' | 'delete' | 'sync' | 'other';

export interface QualysRoute {
  readonly endpoint: Exclude<QualysEndpoint, 'other'>;
  readonly method: string;
}

export const API_BASE_PATH = '/connectors/v1.0/azure';

const ROUTES: ReadonlyMap<string, QualysRoute> = new Map([
  ['/auth', { endpoint: 'auth', method: 'POST' }],
  [`${API_BASE_PATH}/registerSecondaryApplication`, { endpoint: 'register', method: 'POST' }],
  [`${API_BASE_PATH}/updateSecondaryApplication`, { endpoint: 'update', method: 'PUT' }],
  [`${API_BASE_PATH}/listSecondaryApplication`, { endpoint: 'list', method: 'GET' }],
  [`${API_BASE_PATH}/deleteSecondaryApplication`, { endpoint: 'delete', method: 'DELETE' }],
  [`${API_BASE_PATH}/syncSecondaryApplicationInRedis`, { endpoint: 'sync', method: 'POST' }],
]);

export const ALL_ENDPOINTS: readonly QualysEndpoint[] = [
  'auth',
  'register',
  'update',
  'list',
  'delete',
  'sync',
  'other',
];

/** The route for a path (query string already removed), or undefined when the path is unknown. */
export function routeOf(path: string): QualysRoute | undefined {
  return ROUTES.get(path);
}

/** The connector API proper: what faults target when they name no endpoints. */
export function isConnectorApi(endpoint: QualysEndpoint): boolean {
  return endpoint !== 'auth' && endpoint !== 'other';
}

export function isQualysEndpoint(value: unknown): value is QualysEndpoint {
  return typeof value === 'string' && (ALL_ENDPOINTS as readonly string[]).includes(value);
}
