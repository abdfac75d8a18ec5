import type { JsonParseResult, SimResponse } from '../shared/http-helpers.ts';

export const MAX_BATCH_REQUESTS = 20;

export interface BatchSubRequest {
  readonly id: string;
  readonly method: string;
  /** Relative to the version, e.g. `/applications(appId='…')?$select=id`. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Present when the sub-request has a body (then it has a Content-Type header too). */
  readonly body: { readonly value: unknown } | undefined;
}

export type BatchParse =
  | { readonly ok: true; readonly requests: readonly BatchSubRequest[] }
  | { readonly ok: false; readonly unreadable: boolean; readonly message: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function headersOf(value: unknown): Record<string, string> | undefined {
  if (value === undefined) return {};
  if (!isRecord(value)) return undefined;
  const headers: Record<string, string> = {};
  for (const [name, raw] of Object.entries(value)) {
    if (typeof raw !== 'string') return undefined;
    headers[name] = raw;
  }
  return headers;
}

const INVALID = { ok: false, unreadable: false, message: 'Invalid batch payload format.' } as const;

/** Checks a `$batch` envelope the way Graph does before running any of it: all or nothing. */
export function parseBatch(json: JsonParseResult | undefined): BatchParse {
  if (json?.ok !== true) return { ok: false, unreadable: true, message: '' };
  const requests = isRecord(json.value) ? json.value['requests'] : undefined;
  if (!Array.isArray(requests) || requests.length === 0) return INVALID;
  if (requests.length > MAX_BATCH_REQUESTS) {
    return {
      ok: false,
      unreadable: false,
      message: `The number of requests in the batch (${requests.length}) exceeds the limit of ${MAX_BATCH_REQUESTS}.`,
    };
  }
  const parsed: BatchSubRequest[] = [];
  const seen = new Set<string>();
  for (const item of requests as unknown[]) {
    if (!isRecord(item)) return INVALID;
    const { id, method, url } = item;
    const headers = headersOf(item['headers']);
    if (
      typeof id !== 'string' ||
      id === '' ||
      typeof method !== 'string' ||
      typeof url !== 'string' ||
      headers === undefined
    ) {
      return INVALID;
    }
    if (seen.has(id))
      return {
        ok: false,
        unreadable: false,
        message: `Request id '${id}' is used more than once in the batch.`,
      };
    seen.add(id);
    const hasBody = 'body' in item && item['body'] !== undefined && item['body'] !== null;
    const hasContentType = Object.keys(headers).some((name) => name.toLowerCase() === 'content-type');
    if (hasBody && !hasContentType) {
      return {
        ok: false,
        unreadable: false,
        message: `Write request id : ${id} does not contain Content-Type header or body.`,
      };
    }
    parsed.push({
      id,
      method: method.toUpperCase(),
      url,
      headers,
      body: hasBody ? { value: item['body'] } : undefined,
    });
  }
  return { ok: true, requests: parsed };
}

/** One entry of the `responses` array: the sub-request's answer with its headers and JSON body. */
export function batchEntry(id: string, reply: SimResponse): Record<string, unknown> {
  if (reply.body === '') return { id, status: reply.status, headers: { ...reply.headers } };
  return {
    id,
    status: reply.status,
    headers: { ...reply.headers, 'Content-Type': reply.contentType },
    body: JSON.parse(reply.body) as unknown,
  };
}
