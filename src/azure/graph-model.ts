import { GraphTransportError } from './errors/graph-transport-error.ts';
import type { PasswordCredentialInfo, SecondaryApp } from './types.ts';

/** The properties we read of an application; `$select` keeps answers small when reading hundreds. */
export const APP_SELECT = ['id', 'appId', 'displayName', 'passwordCredentials'] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A body's fields, or none when it is not a JSON object (`null`, a list, text): read it without a TypeError. */
export function fieldsOf(body: unknown): Readonly<Record<string, unknown>> {
  return isRecord(body) ? body : {};
}

function optionalString(record: Record<string, unknown>, key: string): string | null {
  const value = record[key];
  return typeof value === 'string' ? value : null;
}

/** Maps Graph's application JSON onto our model, checking what we rely on. */
export function parseApplication(tenantId: string, body: unknown): SecondaryApp {
  if (!isRecord(body))
    throw new GraphTransportError('Graph answered an application that is not a JSON object');
  const { id, appId, passwordCredentials } = body;
  if (typeof id !== 'string' || typeof appId !== 'string') {
    throw new GraphTransportError('Graph answered an application without id or appId');
  }
  if (
    passwordCredentials !== undefined &&
    passwordCredentials !== null &&
    !Array.isArray(passwordCredentials)
  ) {
    throw new GraphTransportError(`Graph answered app ${appId} with passwordCredentials that is not a list`);
  }
  return {
    tenantId,
    appId: appId.toLowerCase(),
    objectId: id.toLowerCase(),
    displayName: optionalString(body, 'displayName'),
    passwords: (passwordCredentials ?? []).map((entry: unknown) => parsePasswordCredential(appId, entry)),
  };
}

export function parsePasswordCredential(appId: string, entry: unknown): PasswordCredentialInfo {
  if (!isRecord(entry) || typeof entry.keyId !== 'string') {
    throw new GraphTransportError(`Graph answered a password credential of app ${appId} without keyId`);
  }
  return {
    keyId: entry.keyId.toLowerCase(),
    displayName: optionalString(entry, 'displayName'),
    startDateTime: optionalString(entry, 'startDateTime'),
    endDateTime: optionalString(entry, 'endDateTime'),
    hint: optionalString(entry, 'hint'),
  };
}

/** Graph error bodies: `{error: {code, message}}`. */
export function graphErrorDetail(body: unknown): { code: string | undefined; message: string | undefined } {
  const parsed: unknown = typeof body === 'string' ? safeJson(body) : body;
  if (!isRecord(parsed) || !isRecord(parsed.error)) return { code: undefined, message: undefined };
  const { code, message } = parsed.error;
  return {
    code: typeof code === 'string' ? code : undefined,
    message: typeof message === 'string' ? message.slice(0, 300) : undefined,
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
