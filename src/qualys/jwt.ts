/**
 * The `exp` claim (seconds since the epoch) of a JWT, without verifying it: we only need to know when
 * to refresh our own token. `undefined` when the text is not a JWT with a numeric `exp`.
 */
export function jwtExpiresAtMs(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1] === undefined) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    if (typeof payload !== 'object' || payload === null) return undefined;
    const exp = (payload as { exp?: unknown }).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
