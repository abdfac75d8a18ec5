/**
 * A write the ledger refused because the value is not a valid record or carries a field that could
 * hold secret text. Always a bug in the caller; the message names the field, never its value.
 */
export class LedgerWriteRejectedError extends Error {
  override readonly name = 'LedgerWriteRejectedError';
  readonly key: string;

  constructor(key: string, problem: string) {
    super(`ledger write to ${key} refused: ${problem}`);
    this.key = key;
  }
}
