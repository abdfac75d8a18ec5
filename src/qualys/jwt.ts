/** The largest instant (ms from the epoch, either way) a `Date` can hold. */
const MAX_DATE_MS = 8.64e15;

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
    if (typeof exp !== 'number') return undefined;
    // Only an instant a Date can hold: `exp: 1e13` is a year past 275760, whose ISO form throws.
    const ms = exp * 1000;
    return Math.abs(ms) <= MAX_DATE_MS ? ms : undefined;
  } catch {
    return undefined;
  }
}
