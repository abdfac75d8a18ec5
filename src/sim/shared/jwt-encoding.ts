import { createHmac } from 'node:crypto';

/** One part of a compact JWT: the value as JSON, base64url-encoded. */
export function base64UrlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** The HS256 signature of `input` (the header and payload parts joined by a dot), base64url-encoded. */
export function hs256Signature(key: Buffer, input: string): string {
  return createHmac('sha256', key).update(input).digest('base64url');
}
