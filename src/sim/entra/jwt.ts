import { randomBytes, randomUUID } from 'node:crypto';
import { base64UrlJson, hs256Signature } from '../shared/jwt-encoding.ts';

/** Who a Graph request acts as: the token's `appid` in tenant `tid`. */
export interface Caller {
  readonly tenantId: string;
  readonly clientId: string;
}

export interface TokenSubject extends Caller {
  /** The service principal's object id, the token's `oid`. */
  readonly objectId: string;
  readonly audience: string;
  readonly issuer: string;
}

export type TokenCheck =
  { readonly ok: true; readonly caller: Caller } | { readonly ok: false; readonly message: string };

interface IssuedToken {
  readonly caller: Caller;
  readonly audience: string;
  readonly expiresAtMs: number;
}

/**
 * Issues app-only access tokens shaped like Entra's v1 tokens for Graph, signed with HMAC since no
 * client may validate them: only this simulator reads them back. Expiry is kept in milliseconds on
 * the side because `exp` has whole-second precision and tests use lifetimes shorter than a second.
 */
export class AccessTokenIssuer {
  readonly #key = randomBytes(32);
  readonly #issued = new Map<string, IssuedToken>();

  issue(subject: TokenSubject, nowMs: number, ttlMs: number): { token: string; expiresAtMs: number } {
    const expiresAtMs = nowMs + ttlMs;
    const nowSec = Math.floor(nowMs / 1000);
    const header = base64UrlJson({ typ: 'JWT', alg: 'HS256' });
    const payload = base64UrlJson({
      aud: subject.audience,
      iss: subject.issuer,
      iat: nowSec,
      nbf: nowSec,
      exp: Math.floor(expiresAtMs / 1000),
      appid: subject.clientId,
      appidacr: '1',
      idtyp: 'app',
      oid: subject.objectId,
      sub: subject.objectId,
      tid: subject.tenantId,
      roles: ['Application.ReadWrite.OwnedBy'],
      // uti keeps two tokens issued in the same second distinct, for leak scans.
      uti: randomUUID(),
      ver: '1.0',
    });
    const signature = hs256Signature(this.#key, `${header}.${payload}`);
    const token = `${header}.${payload}.${signature}`;
    this.#issued.set(token, {
      caller: { tenantId: subject.tenantId, clientId: subject.clientId },
      audience: subject.audience,
      expiresAtMs,
    });
    return { token, expiresAtMs };
  }

  /** Graph's checks, with Graph's messages: present, issued here, for this audience, not expired. */
  verify(authorization: string | undefined, audience: string, nowMs: number): TokenCheck {
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    if (bearer === undefined) return { ok: false, message: 'Access token is empty.' };
    const issued = this.#issued.get(bearer);
    if (issued === undefined) {
      return {
        ok: false,
        message: bearer.includes('.')
          ? 'Access token validation failure. Invalid signature.'
          : 'IDX14100: JWT is not well formed, there are no dots (.).',
      };
    }
    if (issued.audience !== audience) {
      return { ok: false, message: 'Access token validation failure. Invalid audience.' };
    }
    if (nowMs >= issued.expiresAtMs) {
      return { ok: false, message: 'Lifetime validation failed, the token is expired.' };
    }
    return { ok: true, caller: issued.caller };
  }

  issued(): readonly string[] {
    return [...this.#issued.keys()];
  }
}

/** The JOSE header of a compact JWT, or undefined when the text is not one. */
export function jwtHeaderOf(token: string): Record<string, unknown> | undefined {
  const [header, payload, signature, ...extra] = token.split('.');
  if (header === undefined || payload === undefined || signature === undefined || extra.length > 0) {
    return undefined;
  }
  try {
    const value: unknown = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
