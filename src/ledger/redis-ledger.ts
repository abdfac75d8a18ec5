import { Cluster, type Redis } from 'ioredis';
import type { TargetRecord } from '../rotation/ledger-model.ts';
import type { HistoryEntry, LedgerPort } from '../rotation/ports.ts';
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

export interface RedisLedgerOptions {
  /** The rotator's key prefix; on Redis Cluster it must hold a hash tag such as `{rotator}`. */
  readonly keyPrefix: string;
  /** Entries kept per target, newest first. */
  readonly historyLimit?: number;
}

// Each script is one command, hence atomic; every key it touches is passed in KEYS, so Redis Cluster
// routes it and checks that the keys share a slot (the prefix's hash tag sees to that).
const WRITE_RECORD = `
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
return 1`;

const APPEND_HISTORY = `
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
return 1`;

// Compare-and-set: a holder whose lock expired and was taken by another must not extend or free it.
const RENEW_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;

const RELEASE_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

/** The part of a key that Redis Cluster hashes: the first non-empty `{...}`, as Redis defines it. */
export function hashTagOf(key: string): string | undefined {
  const open = key.indexOf('{');
  if (open === -1) return undefined;
  const close = key.indexOf('}', open + 1);
  if (close === -1 || close === open + 1) return undefined;
  return key.slice(open + 1, close);
}

/**
 * The ledger on Redis. Keys, all under the prefix:
 * - `<prefix>:ledger:target:<appId>`: the record as one JSON string. A string rather than a hash
 *   because the record is nested (connectors, in-flight state), so hash fields would hold JSON anyway;
 *   one SET replaces it atomically, where a hash would need DEL + HSET; and `readMany` is one MGET.
 * - `<prefix>:ledger:history:<appId>`: a list of JSON entries, newest first, trimmed to the limit.
 * - `<prefix>:ledger:lock:<appId>`: the lock, holding its owner, with a TTL.
 * - `<prefix>:ledger:targets`: the set of appIds that have a record, for status listings without SCAN.
 */
export class RedisLedger implements LedgerPort {
  readonly #redis: Redis | Cluster;
  readonly #prefix: string;
  readonly #historyLimit: number;

  constructor(redis: Redis | Cluster, options: RedisLedgerOptions) {
    const historyLimit = options.historyLimit ?? DEFAULT_HISTORY_LIMIT;
    checkHistoryLimit(historyLimit, 'historyLimit');
    if (options.keyPrefix === '') throw new RangeError('the ledger needs a non-empty key prefix');
    // Without a hash tag the two keys of a write land in different slots and Cluster refuses the script.
    if (redis instanceof Cluster && hashTagOf(options.keyPrefix) === undefined)
      throw new RangeError(
        `the key prefix "${options.keyPrefix}" has no hash tag: on Redis Cluster use one such as {rotator}`,
      );
    this.#redis = redis;
    this.#prefix = options.keyPrefix;
    this.#historyLimit = historyLimit;
  }

  async read(appId: string): Promise<TargetRecord | undefined> {
    const key = this.#targetKey(appId);
    const stored = await this.#redis.get(key);
    return stored === null ? undefined : decodeRecord(key, stored, appId);
  }

  async readMany(appIds: readonly string[]): Promise<Map<string, TargetRecord>> {
    const unique = [...new Set(appIds)];
    const records = new Map<string, TargetRecord>();
    // MGET with no keys is a syntax error, and there is nothing to ask anyway.
    if (unique.length === 0) return records;
    const keyed = unique.map((appId) => ({ appId, key: this.#targetKey(appId) }));
    const values = await this.#redis.mget(keyed.map(({ key }) => key));
    keyed.forEach(({ appId, key }, index) => {
      const stored = values[index];
      if (stored !== null && stored !== undefined) records.set(appId, decodeRecord(key, stored, appId));
    });
    return records;
  }

  async write(record: TargetRecord): Promise<void> {
    const key = this.#targetKey(record.appId);
    const json = encodeRecord(key, record);
    await this.#redis.eval(WRITE_RECORD, 2, key, this.#indexKey(), json, record.appId);
  }

  async appendHistory(appId: string, entry: HistoryEntry): Promise<void> {
    const key = this.#historyKey(appId);
    const json = encodeHistoryEntry(key, entry);
    await this.#redis.eval(APPEND_HISTORY, 1, key, json, this.#historyLimit);
  }

  async history(appId: string, limit: number = this.#historyLimit): Promise<HistoryEntry[]> {
    checkReadLimit(limit);
    if (limit === 0) return [];
    const key = this.#historyKey(appId);
    const stored = await this.#redis.lrange(key, 0, limit - 1);
    return stored.map((text, index) => decodeHistoryEntry(`${key}[${index}]`, text));
  }

  async acquireLock(appId: string, owner: string, ttlMs: number): Promise<boolean> {
    checkLockArguments(owner, ttlMs);
    const result = await this.#redis.set(this.#lockKey(appId), owner, 'PX', ttlMs, 'NX');
    return result === 'OK';
  }

  async renewLock(appId: string, owner: string, ttlMs: number): Promise<boolean> {
    checkLockArguments(owner, ttlMs);
    const result = await this.#redis.eval(RENEW_LOCK, 1, this.#lockKey(appId), owner, ttlMs);
    return result === 1;
  }

  async releaseLock(appId: string, owner: string): Promise<void> {
    checkLockArguments(owner);
    await this.#redis.eval(RELEASE_LOCK, 1, this.#lockKey(appId), owner);
  }

  /** Every appId that has a record, sorted. */
  async listAppIds(): Promise<string[]> {
    const appIds = await this.#redis.smembers(this.#indexKey());
    return appIds.sort();
  }

  #targetKey(appId: string): string {
    return `${this.#prefix}:ledger:target:${appId}`;
  }

  #historyKey(appId: string): string {
    return `${this.#prefix}:ledger:history:${appId}`;
  }

  #lockKey(appId: string): string {
    return `${this.#prefix}:ledger:lock:${appId}`;
  }

  #indexKey(): string {
    return `${this.#prefix}:ledger:targets`;
  }
}
