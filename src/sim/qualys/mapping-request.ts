/** A register or update request, checked and normalised (appIds de-duplicated per connector). */
export interface MappingRequest {
  readonly mappings: ReadonlyMap<string, readonly string[]>;
  /** appId → secretKey */
  readonly credentials: ReadonlyMap<string, string>;
}

export type ParseResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseConnectorMappings(body: Record<string, unknown>): ParseResult<Map<string, string[]>> {
  const raw = body['connectorMappings'];
  if (raw === undefined) return { ok: false, message: 'connectorMappings is required' };
  if (!isRecord(raw)) {
    return {
      ok: false,
      message: 'connectorMappings must be an object of connector UUIDs to arrays of appIds',
    };
  }
  const mappings = new Map<string, string[]>();
  for (const [connectorId, appIds] of Object.entries(raw)) {
    if (connectorId === '') return { ok: false, message: 'connectorMappings has an empty connector UUID' };
    if (!Array.isArray(appIds) || !appIds.every((appId) => typeof appId === 'string' && appId !== '')) {
      return {
        ok: false,
        message: `connectorMappings.${connectorId} must be an array of non-empty appId strings`,
      };
    }
    mappings.set(connectorId, [...new Set(appIds as string[])]);
  }
  return { ok: true, value: mappings };
}

function parseAppCredentials(body: Record<string, unknown>): ParseResult<Map<string, string>> {
  const raw = body['appCredentials'];
  if (raw === undefined) return { ok: false, message: 'appCredentials is required' };
  if (!Array.isArray(raw)) return { ok: false, message: 'appCredentials must be an array' };
  const credentials = new Map<string, string>();
  for (const [index, entry] of (raw as unknown[]).entries()) {
    if (!isRecord(entry)) return { ok: false, message: `appCredentials[${index}] must be an object` };
    const { appId, secretKey } = entry;
    if (typeof appId !== 'string' || appId === '') {
      return { ok: false, message: `appCredentials[${index}].appId must be a non-empty string` };
    }
    // An empty secretKey is well-formed; whether it works is for credential validation to say.
    if (typeof secretKey !== 'string') {
      return { ok: false, message: `appCredentials[${index}].secretKey must be a string` };
    }
    const earlier = credentials.get(appId);
    if (earlier !== undefined && earlier !== secretKey) {
      return {
        ok: false,
        message: `appCredentials[${index}].appId repeats an appId with a different secretKey`,
      };
    }
    credentials.set(appId, secretKey);
  }
  return { ok: true, value: credentials };
}

export function parseMappingRequest(body: unknown): ParseResult<MappingRequest> {
  if (!isRecord(body)) return { ok: false, message: 'request body must be a JSON object' };
  const mappings = parseConnectorMappings(body);
  if (!mappings.ok) return mappings;
  const credentials = parseAppCredentials(body);
  if (!credentials.ok) return credentials;
  return { ok: true, value: { mappings: mappings.value, credentials: credentials.value } };
}

export function parseDeleteRequest(body: unknown): ParseResult<ReadonlyMap<string, readonly string[]>> {
  if (!isRecord(body)) return { ok: false, message: 'request body must be a JSON object' };
  return parseConnectorMappings(body);
}

/**
 * Every `appCredentials[].secretKey` string in a body of any shape, well-formed or not, so that leak
 * scans also cover secrets sent in requests that were refused.
 */
export function secretKeysIn(body: unknown): string[] {
  if (!isRecord(body) || !Array.isArray(body['appCredentials'])) return [];
  return (body['appCredentials'] as unknown[]).flatMap((entry) =>
    isRecord(entry) && typeof entry['secretKey'] === 'string' && entry['secretKey'] !== ''
      ? [entry['secretKey']]
      : [],
  );
}
