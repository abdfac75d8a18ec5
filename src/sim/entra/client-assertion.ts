import { createHash, X509Certificate } from 'node:crypto';
import { sameText, type SimClient } from './directory-state.ts';
import { jwtHeaderOf } from './jwt.ts';

export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export type AssertionVerdict =
  { readonly ok: true } | { readonly ok: false; readonly code: number; readonly description: string };

function thumbprints(certificatePem: string): { sha1: string; sha256: string } {
  const der = new X509Certificate(certificatePem).raw;
  return {
    sha1: createHash('sha1').update(der).digest('base64url'),
    sha256: createHash('sha256').update(der).digest('base64url'),
  };
}

/**
 * Accepts the client's federated token verbatim (workload identity), or a JWT whose header names the
 * client's certificate by `x5t` (SHA-1) or `x5t#S256` (SHA-256). The signature is not checked: the
 * point is to prove which credential a client presents, not to test RSA.
 */
export function checkClientAssertion(client: SimClient | undefined, assertion: string): AssertionVerdict {
  if (client?.federatedToken !== undefined && sameText(client.federatedToken, assertion)) return { ok: true };
  const header = jwtHeaderOf(assertion);
  const x5t = header?.['x5t'];
  const x5tS256 = header?.['x5t#S256'];
  if (typeof x5t === 'string' || typeof x5tS256 === 'string') {
    if (client?.certificatePem !== undefined) {
      const expected = thumbprints(client.certificatePem);
      if (x5t === expected.sha1 || x5tS256 === expected.sha256) return { ok: true };
    }
    return {
      ok: false,
      code: 700027,
      description:
        'Client assertion failed signature validation. The certificate with identifier used to sign the client assertion is not registered on application.',
    };
  }
  return {
    ok: false,
    code: 700213,
    description: 'No matching federated identity record found for presented assertion.',
  };
}
