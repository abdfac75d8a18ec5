import { APPLICATION_PROPERTIES, type ApplicationProperty } from './application-view.ts';
import { MAX_PAGE_SIZE } from './options.ts';

export type QueryResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly code: string; readonly message: string };

const BY_LOWER_NAME: ReadonlyMap<string, ApplicationProperty> = new Map(
  APPLICATION_PROPERTIES.map((property) => [property.toLowerCase(), property]),
);

/**
 * The properties `$select` asks for, `id` always among them, in Graph's order; all of them when
 * there is no `$select`. Names compare case-insensitively, as in Graph.
 */
export function parseSelect(
  query: URLSearchParams,
): QueryResult<{ properties: ApplicationProperty[]; selected: boolean }> {
  const raw = query.get('$select');
  if (raw === null) return { ok: true, value: { properties: [...APPLICATION_PROPERTIES], selected: false } };
  const wanted = new Set<ApplicationProperty>(['id']);
  for (const name of raw
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')) {
    const property = BY_LOWER_NAME.get(name.toLowerCase());
    if (property === undefined) {
      return {
        ok: false,
        code: 'BadRequest',
        message: `Could not find a property named '${name}' on type 'microsoft.graph.application'.`,
      };
    }
    wanted.add(property);
  }
  return {
    ok: true,
    value: { properties: APPLICATION_PROPERTIES.filter((p) => wanted.has(p)), selected: true },
  };
}

/** `$top`: Graph pages applications 1 to 999 at a time. */
export function parseTop(query: URLSearchParams, defaultSize: number): QueryResult<number> {
  const raw = query.get('$top');
  if (raw === null) return { ok: true, value: defaultSize };
  const size = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
    return {
      ok: false,
      code: 'Request_BadRequest',
      message: `Invalid page size specified: '${raw}'. Must be between 1 and ${MAX_PAGE_SIZE} inclusive.`,
    };
  }
  return { ok: true, value: size };
}

/** The opaque `$skiptoken` of a next page: where it starts. */
export function skipTokenFor(offset: number): string {
  return Buffer.from(JSON.stringify({ sim: 'entra-graph', offset }), 'utf8').toString('base64url');
}

export function parseSkipToken(query: URLSearchParams): QueryResult<number> {
  const raw = query.get('$skiptoken');
  if (raw === null) return { ok: true, value: 0 };
  try {
    const value: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    const offset =
      typeof value === 'object' && value !== null ? (value as Record<string, unknown>)['offset'] : undefined;
    if (typeof offset === 'number' && Number.isInteger(offset) && offset >= 0)
      return { ok: true, value: offset };
  } catch {
    // Falls through to the same answer as any other unreadable token.
  }
  return { ok: false, code: 'Request_BadRequest', message: 'Invalid skip token.' };
}

/**
 * Query options this simulator does not implement answer 400 rather than being ignored, so that a
 * client relying on, say, `$filter` is told instead of silently getting every application.
 */
export function unsupportedOption(
  query: URLSearchParams,
  supported: readonly string[],
): QueryResult<undefined> {
  for (const name of query.keys()) {
    if (name.startsWith('$') && !supported.includes(name)) {
      return {
        ok: false,
        code: 'Request_UnsupportedQuery',
        message: `The simulator does not support the query option '${name}' here.`,
      };
    }
  }
  return { ok: true, value: undefined };
}
