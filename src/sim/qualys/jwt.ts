import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { base64UrlJson, hs256Signature } from '../shared/jwt-encoding.ts';

export type TokenCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Issues and checks the gateway's JWTs. Expiry is tracked in milliseconds on the side because the
 * `exp` claim has whole-second precision and tests use lifetimes shorter than a second.
 */
export class TokenIssuer {
  readonly #key = randomBytes(32);
  readonly #ttlMs: number;
  readonly #expiresAtMs = new Map<string, number>();
  readonly #revoked = new Set<string>();

  constructor(ttlMs: number) {
    this.#ttlMs = ttlMs;
  }

  issue(subject: string, nowMs: number): string {
    const expiresAtMs = nowMs + this.#ttlMs;
    const header = base64UrlJson({ alg: 'HS256', typ: 'JWT' });
    // jti keeps two tokens issued in the same second distinct, so revocation and leak scans can tell them apart.
    const payload = base64UrlJson({
      sub: subject,
      iat: Math.floor(nowMs / 1000),
      exp: Math.floor(expiresAtMs / 1000),
      jti: randomUUID(),
    });
    const token = `${header}.${payload}.${this.#sign(`${header}.${payload}`)}`;
    this.#expiresAtMs.set(token, expiresAtMs);
    return token;
  }

  verify(token: string, nowMs: number): TokenCheck {
    const parts = token.split('.');
    const [header, payload, signature] = parts;
    if (parts.length !== 3 || header === undefined || payload === undefined || signature === undefined) {
      return { ok: false, reason: 'Invalid token' };
    }
    const expected = Buffer.from(this.#sign(`${header}.${payload}`));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      return { ok: false, reason: 'Invalid token' };
    }
    const expiresAtMs = this.#expiresAtMs.get(token);
    if (expiresAtMs === undefined) return { ok: false, reason: 'Invalid token' };
    if (this.#revoked.has(token)) return { ok: false, reason: 'Token has been revoked' };
    if (nowMs >= expiresAtMs) return { ok: false, reason: 'Token has expired' };
    return { ok: true };
  }

  revokeAll(): void {
    for (const token of this.#expiresAtMs.keys()) this.#revoked.add(token);
  }

  issued(): readonly string[] {
    return [...this.#expiresAtMs.keys()];
  }

  #sign(input: string): string {
    return hs256Signature(this.#key, input);
  }
}
