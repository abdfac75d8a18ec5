import { inspect } from 'node:util';

const REDACTED = '[REDACTED]';

/**
 * A secret value (password, client secret, token) that cannot leak by accident: it prints, logs,
 * serialises and inspects as `[REDACTED]`. Only `reveal()` gives the text, so every place that needs
 * the text is easy to find and review.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  get length(): number {
    return this.#value.length;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
