export interface AddPasswordRequest {
  readonly displayName: string | null;
  readonly startMs: number | undefined;
  readonly endMs: number | undefined;
}

export type ParseResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

function dateOf(value: unknown, name: string): ParseResult<number | undefined> {
  if (value === undefined || value === null) return { ok: true, value: undefined };
  const ms = typeof value === 'string' && ISO_DATE_TIME.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) {
    return {
      ok: false,
      message: `Invalid value specified for property '${name}' of resource 'PasswordCredential'.`,
    };
  }
  return { ok: true, value: ms };
}

/** `{passwordCredential: {displayName?, startDateTime?, endDateTime?}}`; an empty body adds an unnamed key, as in Graph. */
export function parseAddPassword(body: unknown): ParseResult<AddPasswordRequest> {
  if (!isRecord(body)) return { ok: false, message: 'The request body must be a JSON object.' };
  const credential = body['passwordCredential'] ?? {};
  if (!isRecord(credential)) {
    return { ok: false, message: "Invalid value specified for parameter 'passwordCredential'." };
  }
  const displayName = credential['displayName'] ?? null;
  if (displayName !== null && typeof displayName !== 'string') {
    return {
      ok: false,
      message: "Invalid value specified for property 'displayName' of resource 'PasswordCredential'.",
    };
  }
  const start = dateOf(credential['startDateTime'], 'startDateTime');
  if (!start.ok) return start;
  const end = dateOf(credential['endDateTime'], 'endDateTime');
  if (!end.ok) return end;
  return { ok: true, value: { displayName, startMs: start.value, endMs: end.value } };
}

/** `{keyId}` */
export function parseRemovePassword(body: unknown): ParseResult<string> {
  const keyId = isRecord(body) ? body['keyId'] : undefined;
  if (typeof keyId !== 'string' || keyId === '') {
    return {
      ok: false,
      message: "Invalid value specified for property 'keyId' of resource 'PasswordCredential'.",
    };
  }
  return { ok: true, value: keyId };
}

/** Graph's default when no endDateTime is given: two years after the start. */
export function twoYearsAfter(startMs: number): number {
  const end = new Date(startMs);
  end.setUTCFullYear(end.getUTCFullYear() + 2);
  return end.getTime();
}
