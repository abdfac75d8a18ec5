import type { IncomingMessage, ServerResponse } from 'node:http';

export interface SimResponse {
  readonly kind: 'respond';
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** What a simulator decided to do with a request, decided before anything is written so it can be delayed or logged. */
export type SimReply = SimResponse | { readonly kind: 'hang' };

export type BodyReadResult = { readonly kind: 'ok'; readonly text: string } | { readonly kind: 'too-large' };

export function jsonReply(
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): SimResponse {
  return { kind: 'respond', status, contentType: 'application/json', body: JSON.stringify(body), headers };
}

export function textReply(
  status: number,
  text: string,
  headers: Readonly<Record<string, string>> = {},
): SimResponse {
  return { kind: 'respond', status, contentType: 'text/plain;charset=UTF-8', body: text, headers };
}

/**
 * Reads the whole request body as UTF-8, up to `maxBytes`. An oversized body is still drained (not
 * kept) so that the client receives the 413 instead of a reset connection mid-upload.
 */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<BodyReadResult> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      tooLarge = true;
      chunks.length = 0;
    }
    if (!tooLarge) chunks.push(chunk);
  }
  return tooLarge ? { kind: 'too-large' } : { kind: 'ok', text: Buffer.concat(chunks).toString('utf8') };
}

/** Writes a reply; `extraHeaders` come first so the reply's own headers win on a clash. */
export function writeReply(
  res: ServerResponse,
  reply: SimResponse,
  extraHeaders: Readonly<Record<string, string>> = {},
): void {
  if (res.destroyed || res.headersSent) return;
  const payload = Buffer.from(reply.body, 'utf8');
  for (const [name, value] of Object.entries({ ...extraHeaders, ...reply.headers }))
    res.setHeader(name, value);
  res.setHeader('Content-Type', reply.contentType);
  res.setHeader('Content-Length', payload.length);
  res.statusCode = reply.status;
  res.end(payload);
}

/** The media type of a request without parameters, lower-cased ('' when absent). */
export function mediaTypeOf(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

export type JsonParseResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false };

export function parseJsonText(text: string): JsonParseResult {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}
