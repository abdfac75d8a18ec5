import { createHash, timingSafeEqual } from 'node:crypto';
import { textReply, type SimReply } from '../shared/http-helpers.ts';
import type { TokenIssuer } from './jwt.ts';

export interface GatewayCredentials {
  readonly username: string;
  readonly password: string;
}

function sameText(a: string, b: string): boolean {
  // Hash first so the comparison takes the same time whatever the lengths.
  const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** `POST /auth`: form fields username, password and token=true; answers 201 with the JWT as plain text. */
export function handleAuth(
  mediaType: string,
  body: string,
  accepted: GatewayCredentials,
  issuer: TokenIssuer,
  nowMs: number,
): SimReply {
  if (mediaType !== 'application/x-www-form-urlencoded') {
    return textReply(400, 'Expected an application/x-www-form-urlencoded body');
  }
  const form = new URLSearchParams(body);
  if (form.get('token') !== 'true') return textReply(400, 'Missing parameter token=true');
  const username = form.get('username') ?? '';
  const password = form.get('password') ?? '';
  const usernameMatches = sameText(username, accepted.username);
  const passwordMatches = sameText(password, accepted.password);
  if (!usernameMatches || !passwordMatches)
    return textReply(401, 'Authentication failed: invalid username or password');
  return textReply(201, issuer.issue(username, nowMs));
}
