import type { TargetRecord } from '../rotation/ledger-model.ts';
import type { Clock, HistoryEntry, LedgerPort } from '../rotation/ports.ts';
import {
  checkHistoryLimit,
  checkLockArguments,
  checkReadLimit,
  decodeHistoryEntry,
  decodeRecord,
  DEFAULT_HISTORY_LIMIT,
  encodeHistoryEntry,
  encodeRecord,
} from './ledger-codec.ts';

export interface MemoryLedgerOptions {
  /** Lock expiry follows this clock, so tests can let a TTL pass without waiting. */
  readonly clock?: Clock;
  readonly historyLimit?: number;
}

const systemClock: Clock = { now: () => Date.now() };

/**
 * The ledger in process memory, for the engine's unit tests and the demo; the contract suite holds it
 * to the same cases as `RedisLedger`. Values are kept as the same JSON text Redis would hold, so a
 * caller that mutates what it wrote or read cannot change the stored state, and what Redis would
 * refuse or lose (a secret field, `undefined`, a Date) is refused or lost here too.
 */
export class MemoryLedger implements LedgerPort {
  readonly #clock: Clock;
  readonly #historyLimit: number;
  readonly #records = new Map<string, string>();
  /** Newest first, as in Redis. */
  readonly #history = new Map<string, string[]>();
  readonly #locks = new Map<string, { readonly owner: string; readonly expiresAt: number }>();

  constructor(options: MemoryLedgerOptions = {}) {
    const historyLimit = options.historyLimit ?? DEFAULT_HISTORY_LIMIT;
    checkHistoryLimit(historyLimit, 'historyLimit');
    this.#clock = options.clock ?? systemClock;
    this.#historyLimit = historyLimit;
  }

  read(appId: string): Promise<TargetRecord | undefined> {
    return later(() => {
      const stored = this.#records.get(appId);
      return stored === undefined ? undefined : decodeRecord(targetKey(appId), stored, appId);
    });
  }

  readMany(appIds: readonly string[]): Promise<Map<string, TargetRecord>> {
    return later(() => {
      const records = new Map<string, TargetRecord>();
      for (const appId of new Set(appIds)) {
        const stored = this.#records.get(appId);
        if (stored !== undefined) records.set(appId, decodeRecord(targetKey(appId), stored, appId));
      }
      return records;
    });
  }

  write(record: TargetRecord): Promise<void> {
    return later(() => {
      this.#records.set(record.appId, encodeRecord(targetKey(record.appId), record));
    });
  }

  appendHistory(appId: string, entry: HistoryEntry): Promise<void> {
    return later(() => {
      const json = encodeHistoryEntry(historyKey(appId), entry);
      const entries = [json, ...(this.#history.get(appId) ?? [])].slice(0, this.#historyLimit);
      this.#history.set(appId, entries);
    });
  }

  history(appId: string, limit: number = this.#historyLimit): Promise<HistoryEntry[]> {
    return later(() => {
      checkReadLimit(limit);
      const key = historyKey(appId);
      return (this.#history.get(appId) ?? [])
        .slice(0, limit)
        .map((text, index) => decodeHistoryEntry(`${key}[${index}]`, text));
    });
  }

  acquireLock(appId: string, owner: string, ttlMs: number): Promise<boolean> {
    return later(() => {
      checkLockArguments(owner, ttlMs);
      if (this.#holder(appId) !== undefined) return false;
      this.#locks.set(appId, { owner, expiresAt: this.#clock.now() + ttlMs });
      return true;
    });
  }

  renewLock(appId: string, owner: string, ttlMs: number): Promise<boolean> {
    return later(() => {
      checkLockArguments(owner, ttlMs);
      if (this.#holder(appId) !== owner) return false;
      this.#locks.set(appId, { owner, expiresAt: this.#clock.now() + ttlMs });
      return true;
    });
  }

  releaseLock(appId: string, owner: string): Promise<void> {
    return later(() => {
      checkLockArguments(owner);
      if (this.#holder(appId) === owner) this.#locks.delete(appId);
    });
  }

  /** Every appId that has a record, sorted. */
  listAppIds(): Promise<string[]> {
    return later(() => {
      return [...this.#records.keys()].sort();
    });
  }

  /** The live holder; an expired lock is dropped here, as Redis drops an expired key when it is read. */
  #holder(appId: string): string | undefined {
    const lock = this.#locks.get(appId);
    if (lock === undefined) return undefined;
    // Redis keeps a key up to and including its expiry millisecond.
    if (this.#clock.now() > lock.expiresAt) {
      this.#locks.delete(appId);
      return undefined;
    }
    return lock.owner;
  }
}

/**
 * Runs `work` on a later tick: calls interleave as they would over a socket, and a throw becomes a
 * rejection, as a refused Redis command would.
 */
function later<T>(work: () => T): Promise<T> {
  return Promise.resolve().then(work);
}

// Key-like names only for error messages, so they read like the Redis ones.
function targetKey(appId: string): string {
  return `memory:ledger:target:${appId}`;
}

function historyKey(appId: string): string {
  return `memory:ledger:history:${appId}`;
}
