import { expect } from 'vitest';

/**
 * Asserts that none of `secrets` occurs in any of `haystacks`. On failure it names where and which
 * secret (by index and length), never the secret itself, so the test report does not leak either.
 */
export function expectNoSecrets(
  haystacks: Record<string, readonly string[]>,
  secrets: readonly string[],
): void {
  const usable = secrets.filter((secret) => secret.length >= 8);
  expect(usable.length, 'the scan needs secrets to look for').toBeGreaterThan(0);
  const hits: string[] = [];
  for (const [where, texts] of Object.entries(haystacks)) {
    texts.forEach((text, line) => {
      usable.forEach((secret, index) => {
        if (text.includes(secret))
          hits.push(`${where}[${line}] contains secret #${index} (${secret.length} chars)`);
      });
    });
  }
  expect(hits).toEqual([]);
}
