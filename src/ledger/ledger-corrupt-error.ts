/**
 * A ledger value that is not what this rotator writes: damaged, written by something else, or by an
 * incompatible version. Reading it as if it were fine could make the engine forget a key that a
 * connector holds, so the read fails loudly instead. The message names the key and the problem,
 * never the value (it might hold anything).
 */
export class LedgerCorruptError extends Error {
  override readonly name = 'LedgerCorruptError';
  readonly key: string;

  constructor(key: string, problem: string) {
    super(
      `ledger key ${key} holds ${problem}; the rotator will not act on it: inspect the key ` +
        '(it may be damaged or written by another program) before changing or deleting it',
    );
    this.key = key;
  }
}
