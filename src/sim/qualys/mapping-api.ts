import { jsonReply, type SimReply } from '../shared/http-helpers.ts';
import type { MappingRequest } from './mapping-request.ts';
import type { MappingSnapshot, QualysState } from './state.ts';

export type QualysFailureCode =
  | 'CONNECTOR_NOT_FOUND'
  | 'MAPPING_NOT_FOUND'
  | 'ALREADY_REGISTERED'
  | 'CREDENTIAL_VALIDATION_FAILED'
  | 'MISSING_CREDENTIAL';

export interface MappingFailure {
  readonly connectorUuid: string;
  readonly appId: string;
  readonly errorCode: QualysFailureCode;
  readonly errorMessage: string;
}

export type CredentialValidator = (appId: string, secret: string) => boolean | Promise<boolean>;

interface Pair {
  readonly connectorUuid: string;
  readonly appId: string;
}

function pairsOf(mappings: ReadonlyMap<string, readonly string[]>): Pair[] {
  return [...mappings].flatMap(([connectorUuid, appIds]) =>
    appIds.map((appId) => ({ connectorUuid, appId })),
  );
}

function failure(pair: Pair, errorCode: QualysFailureCode): MappingFailure {
  const { connectorUuid, appId } = pair;
  const errorMessage: Record<QualysFailureCode, string> = {
    CONNECTOR_NOT_FOUND: `Connector ${connectorUuid} not found`,
    MAPPING_NOT_FOUND: `Application ${appId} is not registered to connector ${connectorUuid}`,
    ALREADY_REGISTERED: `Application ${appId} is already registered to connector ${connectorUuid}`,
    CREDENTIAL_VALIDATION_FAILED: `Credential validation failed for application ${appId}`,
    MISSING_CREDENTIAL: `No appCredentials entry for application ${appId}`,
  };
  return { connectorUuid, appId, errorCode, errorMessage: errorMessage[errorCode] };
}

/** 200 when anything succeeded or there was nothing to do; 400 when every item failed. */
function outcomeStatus(succeeded: number, failed: number): number {
  return succeeded === 0 && failed > 0 ? 400 : 200;
}

function groupByConnector(pairs: readonly Pair[]): MappingSnapshot {
  const grouped: MappingSnapshot = new Map();
  for (const { connectorUuid, appId } of pairs)
    grouped.set(connectorUuid, [...(grouped.get(connectorUuid) ?? []), appId]);
  return grouped;
}

/** The per-pair checks that do not involve the credential, run before and again after validation. */
function stateFailure(
  kind: 'register' | 'update',
  pair: Pair,
  state: QualysState,
): QualysFailureCode | undefined {
  if (!state.hasConnector(pair.connectorUuid)) return 'CONNECTOR_NOT_FOUND';
  const registered = state.hasMapping(pair.connectorUuid, pair.appId);
  if (kind === 'register' && registered) return 'ALREADY_REGISTERED';
  if (kind === 'update' && !registered) return 'MAPPING_NOT_FOUND';
  return undefined;
}

/**
 * Register or update, item by item. Credentials are validated (each distinct appId and secret once)
 * before anything is stored, and the state checks are repeated after that await, so concurrent
 * requests cannot both register the same pair.
 */
export async function registerOrUpdate(
  kind: 'register' | 'update',
  request: MappingRequest,
  state: QualysState,
  validate: CredentialValidator,
): Promise<SimReply> {
  const pairs = pairsOf(request.mappings);
  const precheck = pairs.map((pair): QualysFailureCode | undefined => {
    if (!state.hasConnector(pair.connectorUuid)) return 'CONNECTOR_NOT_FOUND';
    if (!request.credentials.has(pair.appId)) return 'MISSING_CREDENTIAL';
    return stateFailure(kind, pair, state);
  });

  const validity = new Map<string, boolean>();
  const toValidate = new Map<string, readonly [string, string]>();
  pairs.forEach((pair, index) => {
    const secret = request.credentials.get(pair.appId);
    if (precheck[index] === undefined && secret !== undefined) {
      toValidate.set(JSON.stringify([pair.appId, secret]), [pair.appId, secret]);
    }
  });
  try {
    await Promise.all(
      [...toValidate].map(async ([key, [appId, secret]]) => {
        validity.set(key, await validate(appId, secret));
      }),
    );
  } catch {
    return jsonReply(503, { message: 'Credential validation is unavailable; try again later' });
  }

  const succeeded: Pair[] = [];
  const failures: MappingFailure[] = [];
  pairs.forEach((pair, index) => {
    const secret = request.credentials.get(pair.appId) ?? '';
    let code = precheck[index];
    if (code === undefined && validity.get(JSON.stringify([pair.appId, secret])) !== true) {
      code = 'CREDENTIAL_VALIDATION_FAILED';
    }
    code ??= stateFailure(kind, pair, state);
    if (code !== undefined) {
      failures.push(failure(pair, code));
      return;
    }
    state.setMapping(pair.connectorUuid, pair.appId, secret);
    succeeded.push(pair);
  });

  const message =
    failures.length === 0
      ? 'All items processed successfully'
      : succeeded.length === 0
        ? 'All items failed to process'
        : 'Some items failed to process';
  const successData = Object.fromEntries(groupByConnector(succeeded));
  return jsonReply(outcomeStatus(succeeded.length, failures.length), { message, successData, failures });
}

export function deleteMappings(
  mappings: ReadonlyMap<string, readonly string[]>,
  state: QualysState,
): SimReply {
  const succeeded: Pair[] = [];
  const failures: MappingFailure[] = [];
  for (const pair of pairsOf(mappings)) {
    if (!state.hasConnector(pair.connectorUuid)) failures.push(failure(pair, 'CONNECTOR_NOT_FOUND'));
    else if (!state.deleteMapping(pair.connectorUuid, pair.appId))
      failures.push(failure(pair, 'MAPPING_NOT_FOUND'));
    else succeeded.push(pair);
  }
  const message =
    failures.length === 0
      ? 'All items deleted successfully'
      : succeeded.length === 0
        ? 'All items failed to delete'
        : 'Some items failed to delete';
  const successData = [...groupByConnector(succeeded)].map(([connectorUuid, appIds]) => ({
    connectorUuid,
    appIds,
  }));
  return jsonReply(outcomeStatus(succeeded.length, failures.length), { message, successData, failures });
}

export function listMappings(snapshot: MappingSnapshot): SimReply {
  return jsonReply(
    200,
    [...snapshot].map(([connectorUuid, appIds]) => ({ connectorUuid, appIds })),
  );
}

export function syncCache(state: QualysState): SimReply {
  state.sync();
  return jsonReply(200, { message: 'Successfully synced the secondary application into redis' });
}
