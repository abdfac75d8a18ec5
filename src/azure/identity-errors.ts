import { AuthenticationError, CredentialUnavailableError } from '@azure/identity';

/** What an `@azure/identity` failure says, reduced to what we classify on and may print. */
export interface IdentityFailure {
  /** `AADSTS<n>` number, when Entra gave one. */
  readonly aadsts: number | undefined;
  /** OAuth error (`invalid_client`, `unauthorized_client`, …) when Entra answered. */
  readonly oauthError: string | undefined;
  /** The first sentence of Entra's description (it never holds the secret), or the error's name. */
  readonly summary: string;
  /** True when Entra never answered (network, DNS, TLS): worth retrying. */
  readonly unreachable: boolean;
  /** The credential could not even try (missing environment, no managed identity). */
  readonly unavailable: boolean;
}

const AADSTS = /AADSTS(\d+)/;
/** A summary goes into error messages, the dead-letter queue and logs: one sentence, not a page. */
const MAX_SUMMARY_CHARS = 300;

/**
 * An AADSTS number, or `undefined`. `errorResponse` is Entra's JSON as it came (`@azure/identity`
 * checks none of its types), so `error_codes: "7000215"` or `[{}]` must not pass for a number.
 */
function aadstsNumber(value: unknown): number | undefined {
  const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return typeof number === 'number' && Number.isSafeInteger(number) && number >= 0 ? number : undefined;
}

function asText(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

export function describeIdentityFailure(error: unknown): IdentityFailure {
  if (error instanceof AuthenticationError) {
    const response = error.errorResponse;
    const description = asText(response.errorDescription);
    const codes: unknown = response.errorCodes;
    const aadsts =
      aadstsNumber(Array.isArray(codes) ? (codes as unknown[])[0] : undefined) ??
      aadstsNumber(AADSTS.exec(description)?.[1]);
    const oauthError = asText(response.error) || undefined;
    // Bounded like a sentence: the OAuth error is Entra's JSON as it came, of any length.
    const summary =
      firstSentence(description) || oauthError?.slice(0, MAX_SUMMARY_CHARS) || 'authentication failed';
    // A status of 0 or none means no answer came back at all.
    const unreachable = error.statusCode === 0 || (aadsts === undefined && error.statusCode >= 500);
    return { aadsts, oauthError, summary, unreachable, unavailable: false };
  }
  if (error instanceof CredentialUnavailableError) {
    return {
      aadsts: undefined,
      oauthError: undefined,
      summary: firstSentence(asText(error.message)),
      unreachable: false,
      unavailable: true,
    };
  }
  const message = error instanceof Error ? asText(error.message) : '';
  const fromText = AADSTS.exec(message)?.[1];
  return {
    aadsts: aadstsNumber(fromText),
    oauthError: undefined,
    summary: firstSentence(message) || 'unknown error',
    unreachable: fromText === undefined,
    unavailable: false,
  };
}

/**
 * Entra descriptions run on with trace ids and timestamps, and MSAL prefixes its own
 * "Error(s): … - Description:": the first sentence from the AADSTS code on is the useful part.
 */
function firstSentence(text: string): string {
  const fromCode = text.search(/AADSTS\d+:/);
  const line = (fromCode > 0 ? text.slice(fromCode) : text).split(/\r?\n/)[0] ?? '';
  const end = line.search(/\.(\s|$)/);
  return (end >= 0 ? line.slice(0, end + 1) : line).slice(0, MAX_SUMMARY_CHARS).trim();
}

/** AADSTS7000215 (invalid secret) and AADSTS700016 (unknown app) are what propagation looks like. */
export const NOT_YET_PROPAGATED = new Set([7000215, 700016]);
