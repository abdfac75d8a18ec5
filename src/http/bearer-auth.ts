import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Secret } from '../util/secret.ts';

/**
 * Whether the request carries `Authorization: Bearer <token>`. Both sides are hashed first, so the
 * comparison is constant-time even when the lengths differ (timingSafeEqual needs equal lengths, and
 * returning early on a length mismatch would leak the token's length).
 */
export function hasBearerToken(req: Pick<IncomingMessage, 'headers'>, token: Secret): boolean {
  const header = req.headers.authorization ?? '';
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  const offered = createHash('sha256')
    .update(match?.[1] ?? '')
    .digest();
  const expected = createHash('sha256').update(token.reveal()).digest();
  return timingSafeEqual(offered, expected) && match !== null;
}
