import { QualysMalformedResponseError } from './errors/qualys-malformed-response-error.ts';
import type { BatchResult, ConnectorMapping, PairOutcome, QualysOperation } from './types.ts';

/** A (connector, app) pair we asked about, ids lower-cased. */
export interface RequestedPair {
  readonly connectorId: string;
  readonly appId: string;
}

const CONNECTOR_KEYS = [
  'connectorUuid',
  'connectorId',
  'connectorUUID',
  'connector_uuid',
  'connector_id',
  'connector',
  'uuid',
];
const APP_KEYS = ['appId', 'applicationId', 'appID', 'app_id', 'secondaryAppId', 'clientId', 'app'];
const APP_LIST_KEYS = ['appIds', 'applicationIds', 'appIDs', 'app_ids', 'secondaryAppIds'];
const CODE_KEYS = ['errorCode', 'code', 'errorType', 'status', 'error'];
const MESSAGE_KEYS = ['errorMessage', 'message', 'reason', 'error', 'detail', 'description'];
const SECRET_KEY = /secret|password|token|credential|authorization/i;
const UUID_IN_TEXT = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** Parses JSON text into `unknown`, turning a syntax error into a typed error. */
export function parseJson(operation: QualysOperation, text: string): unknown {
  if (text.trim() === '') throw new QualysMalformedResponseError(operation, 'empty body');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new QualysMalformedResponseError(operation, 'not valid JSON');
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function firstString(record: Record<string, unknown>, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const value = record[key];
    if (typeof value === 'string' && value !== '') return value;
    if (typeof value === 'number') return String(value);
  }
  return undefined;
}

function stringList(record: Record<string, unknown>, keys: readonly string[]): string[] | undefined {
  for (const key of keys) {
    const value = record[key];
    if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string');
  }
  return undefined;
}

/**
 * `successData` comes as an object map `{connectorUuid: [appId]}` (register, update) or as an array
 * `[{connectorUuid, appIds}]` (delete). Both, and a missing or null value, are accepted.
 */
export function parseSuccessData(operation: QualysOperation, value: unknown): Set<string> {
  const pairs = new Set<string>();
  if (value === undefined || value === null) return pairs;
  if (Array.isArray(value)) {
    value.forEach((entry, index) => {
      if (!isRecord(entry))
        throw new QualysMalformedResponseError(operation, `successData[${index}] is not an object`);
      const connector = firstString(entry, CONNECTOR_KEYS);
      const apps =
        stringList(entry, APP_LIST_KEYS) ?? [firstString(entry, APP_KEYS)].filter((app) => app !== undefined);
      if (connector === undefined)
        throw new QualysMalformedResponseError(operation, `successData[${index}] names no connector`);
      for (const app of apps) pairs.add(pairKey(connector, app));
    });
    return pairs;
  }
  if (isRecord(value)) {
    for (const [connector, apps] of Object.entries(value)) {
      const list = Array.isArray(apps) ? apps : [apps];
      for (const app of list) {
        if (typeof app !== 'string')
          throw new QualysMalformedResponseError(
            operation,
            'successData lists an app id that is not a string',
          );
        pairs.add(pairKey(connector, app));
      }
    }
    return pairs;
  }
  throw new QualysMalformedResponseError(operation, 'successData is neither an object nor a list');
}

function pairKey(connectorId: string, appId: string): string {
  return `${connectorId.toLowerCase()}|${appId.toLowerCase()}`;
}

/** How deep a failure entry is copied; below, objects and lists are replaced, not copied unscrubbed. */
const MAX_FAILURE_DEPTH = 5;

/**
 * A copy of a failure entry that is safe to log and store: secret-looking fields are dropped, and any
 * string (value or key) holding a secret we sent is replaced. Nesting deeper than
 * `MAX_FAILURE_DEPTH` is cut, since it is not scrubbed. The entry is otherwise kept whole.
 */
export function scrubFailure(entry: unknown, sentSecrets: readonly string[], depth = 0): unknown {
  const holdsSecret = (text: string) => sentSecrets.some((secret) => secret !== '' && text.includes(secret));
  if (typeof entry === 'string') return holdsSecret(entry) ? '[REDACTED]' : entry;
  if (entry === null || typeof entry !== 'object') return entry;
  if (depth > MAX_FAILURE_DEPTH) return '[TRUNCATED]';
  if (Array.isArray(entry)) return entry.map((item) => scrubFailure(item, sentSecrets, depth + 1));
  return Object.fromEntries(
    Object.entries(entry).map(([key, value]) => [
      holdsSecret(key) ? '[REDACTED]' : key,
      SECRET_KEY.test(key) && !/id$/i.test(key) ? '[REDACTED]' : scrubFailure(value, sentSecrets, depth + 1),
    ]),
  );
}

interface FailureMatch {
  readonly connectorIds: readonly string[] | undefined;
  readonly appIds: readonly string[] | undefined;
  readonly errorCode: string | undefined;
  readonly message: string | undefined;
}

/** Reads which connector(s) and app(s) a failure entry is about, whatever its shape. */
export function describeFailure(entry: unknown): FailureMatch {
  if (typeof entry === 'string') {
    const ids = (entry.match(UUID_IN_TEXT) ?? []).map((id) => id.toLowerCase());
    // Which UUID is the connector and which the app is unknown: match a pair if both appear.
    return { connectorIds: ids, appIds: ids, errorCode: undefined, message: entry };
  }
  if (!isRecord(entry))
    return { connectorIds: undefined, appIds: undefined, errorCode: undefined, message: undefined };
  const connector = firstString(entry, CONNECTOR_KEYS);
  const app = firstString(entry, APP_KEYS);
  const apps = stringList(entry, APP_LIST_KEYS);
  const codeValue = firstString(entry, CODE_KEYS);
  const messageValue = firstString(entry, MESSAGE_KEYS);
  return {
    connectorIds: connector === undefined ? undefined : [connector.toLowerCase()],
    appIds:
      apps !== undefined
        ? apps.map((id) => id.toLowerCase())
        : app === undefined
          ? undefined
          : [app.toLowerCase()],
    errorCode: codeValue,
    message: messageValue,
  };
}

function matches(failure: FailureMatch, pair: RequestedPair): boolean {
  if (failure.connectorIds === undefined && failure.appIds === undefined) return false;
  const connectorOk = failure.connectorIds === undefined || failure.connectorIds.includes(pair.connectorId);
  const appOk = failure.appIds === undefined || failure.appIds.includes(pair.appId);
  return connectorOk && appOk;
}

/**
 * The outcome of every requested pair from a register, update or delete answer. Tolerant by design:
 * the spec gives one success sample per call and no failure shape at all.
 */
export function parseBatchResponse(
  operation: QualysOperation,
  httpStatus: number,
  body: unknown,
  requested: readonly RequestedPair[],
  sentSecrets: readonly string[],
): BatchResult {
  if (!isRecord(body)) throw new QualysMalformedResponseError(operation, 'expected a JSON object');
  const succeeded = parseSuccessData(operation, body.successData);
  const rawFailures = body.failures ?? body.failure ?? body.errors;
  if (rawFailures !== undefined && rawFailures !== null && !Array.isArray(rawFailures)) {
    throw new QualysMalformedResponseError(operation, 'failures is not a list');
  }
  const failures = (rawFailures ?? []).map((entry) => {
    const scrubbed = scrubFailure(entry, sentSecrets);
    return { scrubbed, match: describeFailure(scrubbed) };
  });
  const used = new Set<number>();
  const outcomes: PairOutcome[] = requested.map((pair) => {
    const index = failures.findIndex((failure) => matches(failure.match, pair));
    if (index >= 0) {
      used.add(index);
      const { match } = failures[index] as (typeof failures)[number];
      return { ...pair, status: 'failed', errorCode: match.errorCode, message: match.message };
    }
    return {
      ...pair,
      status: succeeded.has(pairKey(pair.connectorId, pair.appId)) ? 'succeeded' : 'unconfirmed',
    };
  });
  const message = typeof body.message === 'string' ? body.message : undefined;
  return {
    httpStatus,
    message: message === undefined ? undefined : (scrubFailure(message, sentSecrets) as string),
    outcomes,
    unmatchedFailures: failures
      .filter((_failure, index) => !used.has(index))
      .map((failure) => failure.scrubbed),
  };
}

/** True when a 4xx body still has the batch shape, so per-pair outcomes can be reported. */
export function looksLikeBatch(body: unknown): boolean {
  return isRecord(body) && ('failures' in body || 'successData' in body);
}

/** `listSecondaryApplication`: `[{connectorUuid, appIds}]`, also accepted inside `{data: [...]}`. */
export function parseListResponse(body: unknown): ConnectorMapping[] {
  const list = Array.isArray(body)
    ? body
    : isRecord(body) && Array.isArray(body.data)
      ? body.data
      : undefined;
  if (list === undefined)
    throw new QualysMalformedResponseError('list', 'expected a JSON list of connectors');
  return list.map((entry: unknown, index) => {
    if (!isRecord(entry)) throw new QualysMalformedResponseError('list', `entry ${index} is not an object`);
    const connectorId = firstString(entry, CONNECTOR_KEYS);
    if (connectorId === undefined)
      throw new QualysMalformedResponseError('list', `entry ${index} names no connector`);
    const raw = APP_LIST_KEYS.map((key) => entry[key]).find((value) => value !== undefined);
    if (raw !== undefined && raw !== null && !Array.isArray(raw)) {
      throw new QualysMalformedResponseError('list', `entry ${index}: appIds is not a list`);
    }
    const appIds = (raw ?? []).map((app: unknown) => {
      if (typeof app !== 'string')
        throw new QualysMalformedResponseError('list', `entry ${index}: an app id is not a string`);
      return app.toLowerCase();
    });
    return { connectorId: connectorId.toLowerCase(), appIds };
  });
}

/** `syncSecondaryApplicationInRedis`: any JSON object; its message if it has one. */
export function parseSyncResponse(text: string): { message: string | undefined } {
  if (text.trim() === '') return { message: undefined };
  const body = parseJson('sync', text);
  if (!isRecord(body)) throw new QualysMalformedResponseError('sync', 'expected a JSON object');
  return { message: typeof body.message === 'string' ? body.message : undefined };
}
