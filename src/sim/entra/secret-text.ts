import { randomInt } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~';

function randomChars(count: number): string {
  let text = '';
  for (let i = 0; i < count; i++) text += ALPHABET.charAt(randomInt(ALPHABET.length));
  return text;
}

/**
 * A client secret shaped like Entra's: 40 characters, three random ones, a digit and `Q~`, then 34
 * more, drawn from characters that include `~`, `.` and `-`, so that a client which forgets to
 * form-encode or that splits on them is caught here rather than in production.
 */
export function newSecretText(): string {
  return `${randomChars(3)}${String(randomInt(10))}Q~${randomChars(34)}`;
}
