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

export function describeIdentityFailure(error: unknown): IdentityFailure {
  if (error instanceof AuthenticationError) {
    const response = error.errorResponse;
    const description = typeof response.errorDescription === 'string' ? response.errorDescription : '';
    const fromText = AADSTS.exec(description)?.[1];
    const aadsts = response.errorCodes?.[0] ?? (fromText === undefined ? undefined : Number(fromText));
    const summary = firstSentence(description) || response.error || 'authentication failed';
    // A status of 0 or none means no answer came back at all.
    const unreachable = error.statusCode === 0 || (aadsts === undefined && error.statusCode >= 500);
    return { aadsts, oauthError: response.error || undefined, summary, unreachable, unavailable: false };
  }
  if (error instanceof CredentialUnavailableError) {
    return {
      aadsts: undefined,
      oauthError: undefined,
      summary: firstSentence(error.message),
      unreachable: false,
      unavailable: true,
    };
  }
  const message = error instanceof Error ? error.message : '';
  const fromText = AADSTS.exec(message)?.[1];
  return {
    aadsts: fromText === undefined ? undefined : Number(fromText),
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
  return (end >= 0 ? line.slice(0, end + 1) : line).slice(0, 300).trim();
}

/** AADSTS7000215 (invalid secret) and AADSTS700016 (unknown app) are what propagation looks like. */
export const NOT_YET_PROPAGATED = new Set([7000215, 700016]);
