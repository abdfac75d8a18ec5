import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { RedisConfig } from '../../src/config/types.ts';
import { LedgerCorruptError } from '../../src/ledger/ledger-corrupt-error.ts';
import { LedgerWriteRejectedError } from '../../src/ledger/ledger-write-rejected-error.ts';
import { MemoryLedger } from '../../src/ledger/memory-ledger.ts';
import { checkRedis, createRedis } from '../../src/ledger/redis-connection.ts';
import { hashTagOf, RedisLedger } from '../../src/ledger/redis-ledger.ts';
import { emptyRecord, type TargetRecord } from '../../src/rotation/ledger-model.ts';
import type { HistoryEntry, LedgerPort } from '../../src/rotation/ports.ts';
import { Secret } from '../../src/util/secret.ts';
import { sleep } from '../../src/util/sleep.ts';
import { startRedisServer, freePort, type RedisServerHandle } from '../support/redis-server.ts';

type Ledger = LedgerPort & { listAppIds(): Promise<string[]> };

interface Subject {
  readonly ledger: Ledger;
  /** Lets lock TTLs run out: real time for Redis, a manual clock for memory. */
  elapse(ms: number): Promise<void>;
}

const random = () => randomBytes(6).toString('hex');
const uniquePrefix = () => `{t-${random()}}`;

let shared: Redis;

beforeAll(() => {
  shared = new Redis(inject('redisUrl'), { maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  await shared.quit();
});

const factories: [string, (options?: { historyLimit?: number }) => Subject][] = [
  [
    'redis',
    (options = {}) => ({
      ledger: new RedisLedger(shared, { keyPrefix: uniquePrefix(), ...options }),
      elapse: (ms) => sleep(ms),
    }),
  ],
  [
    'memory',
    (options = {}) => {
      let now = Date.parse('2030-01-01T00:00:00Z');
      return {
        ledger: new MemoryLedger({ clock: { now: () => now }, ...options }),
        elapse: (ms) => {
          now += ms;
          return Promise.resolve();
        },
      };
    },
  ],
];

function fullRecord(appId: string): TargetRecord {
  return {
    appId,
    tenantId: 'tenant-1',
    connectors: {
      c1: {
        keyId: 'k2',
        mayHold: ['k1'],
        pushedAt: '2030-01-01T00:00:00.000Z',
        verifiedAt: '2030-01-01T00:01:00.000Z',
        rotationId: 'r2',
      },
      c2: { keyId: 'unknown', mayHold: [] },
    },
    currentKeyId: 'k2',
    currentKeyExpiresAt: '2030-04-01T00:00:00.000Z',
    allKnownSince: '2030-01-01T00:01:00.000Z',
    releasedKeys: { k0: '2029-12-01T00:00:00.000Z' },
    pendingRetirements: [{ keyId: 'k0', notBefore: '2030-01-02T00:00:00.000Z' }],
    lastResult: { rotationId: 'r2', at: '2030-01-01T00:01:00.000Z', outcome: 'partial', step: 'push' },
    lastSuccessAt: '2029-12-01T00:00:00.000Z',
    nextDueAt: '2030-03-01T00:00:00.000Z',
    rotateAgain: true,
    inFlight: {
      rotationId: 'r3',
      startedAt: '2030-01-03T00:00:00.000Z',
      forced: false,
      step: 'push-intent',
      displayName: 'rotator r3',
      keyId: 'k3',
      keyEndDateTime: '2030-04-03T00:00:00.000Z',
      pushTo: ['c1', 'c2'],
      pushOutcomes: { c1: 'succeeded', c2: 'unconfirmed' },
    },
  };
}

function entry(n: number): HistoryEntry {
  return { rotationId: `r${n}`, at: `2030-01-0${n}T00:00:00.000Z`, outcome: 'rotated', keyId: `k${n}` };
}

describe.each(factories)('the LedgerPort contract: %s', (_name, make) => {
  it('reads back what it wrote, replaces on write, and keeps no link to the caller’s objects', async () => {
    const { ledger } = make();
    expect(await ledger.read('app-1')).toBeUndefined();
    const record = fullRecord('app-1');
    await ledger.write(record);
    expect(await ledger.read('app-1')).toEqual(record);

    const replaced: TargetRecord = { ...emptyRecord('app-1', 'tenant-1'), inFlight: undefined };
    await ledger.write(replaced);
    const read = await ledger.read('app-1');
    expect(read).toEqual(emptyRecord('app-1', 'tenant-1'));
    // JSON has no undefined: a cleared field is absent, not present-and-undefined.
    expect(read !== undefined && 'inFlight' in read).toBe(false);

    const mutable = structuredClone(fullRecord('app-2')) as { connectors: Record<string, unknown> };
    await ledger.write(mutable as unknown as TargetRecord);
    mutable.connectors.c3 = { keyId: 'x', mayHold: [] };
    expect(Object.keys((await ledger.read('app-2'))?.connectors ?? {})).toEqual(['c1', 'c2']);
  });

  it('reads many at once; missing ones are absent and duplicates are harmless', async () => {
    const { ledger } = make();
    await ledger.write(fullRecord('a'));
    await ledger.write(emptyRecord('b', 'tenant-2'));
    const many = await ledger.readMany(['a', 'missing', 'b', 'a']);
    expect([...many.keys()].sort()).toEqual(['a', 'b']);
    expect(many.get('a')).toEqual(fullRecord('a'));
    expect(many.get('b')).toEqual(emptyRecord('b', 'tenant-2'));
    expect((await ledger.readMany([])).size).toBe(0);
  });

  it('keeps history newest first and capped at the limit', async () => {
    const { ledger } = make({ historyLimit: 3 });
    expect(await ledger.history('app-1')).toEqual([]);
    for (let n = 1; n <= 5; n++) await ledger.appendHistory('app-1', entry(n));
    await ledger.appendHistory('app-2', entry(9));
    expect(await ledger.history('app-1')).toEqual([entry(5), entry(4), entry(3)]);
    expect(await ledger.history('app-1', 2)).toEqual([entry(5), entry(4)]);
    expect(await ledger.history('app-1', 0)).toEqual([]);
    expect(await ledger.history('app-2')).toEqual([entry(9)]);
    await expect(ledger.history('app-1', -1)).rejects.toThrow(RangeError);
  });

  it('lists the appIds that have a record, sorted, and only those', async () => {
    const { ledger } = make();
    expect(await ledger.listAppIds()).toEqual([]);
    await ledger.write(emptyRecord('b', 't'));
    await ledger.write(emptyRecord('a', 't'));
    await ledger.write(fullRecord('a'));
    await ledger.appendHistory('c', entry(1));
    await ledger.acquireLock('d', 'owner-1', 10_000);
    expect(await ledger.listAppIds()).toEqual(['a', 'b']);
  });

  it('gives a lock to one owner at a time, per target, and is not re-entrant', async () => {
    const { ledger } = make();
    expect(await ledger.acquireLock('app-1', 'owner-1', 10_000)).toBe(true);
    expect(await ledger.acquireLock('app-1', 'owner-2', 10_000)).toBe(false);
    expect(await ledger.acquireLock('app-1', 'owner-1', 10_000)).toBe(false);
    expect(await ledger.acquireLock('app-2', 'owner-2', 10_000)).toBe(true);
  });

  it('lets only the holder renew, and a renewal extends the lock', async () => {
    const { ledger, elapse } = make();
    expect(await ledger.renewLock('app-1', 'owner-1', 200)).toBe(false);
    await ledger.acquireLock('app-1', 'owner-1', 200);
    expect(await ledger.renewLock('app-1', 'owner-2', 10_000)).toBe(false);
    await elapse(120);
    expect(await ledger.renewLock('app-1', 'owner-1', 400)).toBe(true);
    await elapse(180); // past the first TTL, within the renewed one
    expect(await ledger.acquireLock('app-1', 'owner-2', 10_000)).toBe(false);
  });

  it('lets only the holder release', async () => {
    const { ledger } = make();
    await ledger.acquireLock('app-1', 'owner-1', 10_000);
    await ledger.releaseLock('app-1', 'owner-2');
    expect(await ledger.acquireLock('app-1', 'owner-2', 10_000)).toBe(false);
    await ledger.releaseLock('app-1', 'owner-1');
    expect(await ledger.acquireLock('app-1', 'owner-2', 10_000)).toBe(true);
    await ledger.releaseLock('app-never-locked', 'owner-1');
  });

  it('frees an expired lock, and its former holder can neither renew nor release the new one', async () => {
    const { ledger, elapse } = make();
    await ledger.acquireLock('app-1', 'owner-1', 200);
    await elapse(250);
    expect(await ledger.acquireLock('app-1', 'owner-2', 10_000)).toBe(true);
    expect(await ledger.renewLock('app-1', 'owner-1', 10_000)).toBe(false);
    await ledger.releaseLock('app-1', 'owner-1');
    expect(await ledger.acquireLock('app-1', 'owner-3', 10_000)).toBe(false);
  });

  it('refuses lock arguments Redis could not honour', async () => {
    const { ledger } = make();
    await expect(ledger.acquireLock('app-1', 'owner-1', 0)).rejects.toThrow(RangeError);
    await expect(ledger.acquireLock('app-1', 'owner-1', 1.5)).rejects.toThrow(RangeError);
    await expect(ledger.acquireLock('app-1', '', 1000)).rejects.toThrow(RangeError);
    await expect(ledger.renewLock('app-1', 'owner-1', -1)).rejects.toThrow(RangeError);
  });

  it('refuses to store a field that could hold secret text, wherever it is, and stores nothing', async () => {
    const { ledger } = make();
    const value = 'S3cr3t-ledger-guard-value';
    const record = fullRecord('app-1');
    const cases: [unknown, string][] = [
      [{ ...record, secretText: value }, 'secretText'],
      [
        { ...record, connectors: { c1: { keyId: 'k', mayHold: [], password: value } } },
        'connectors.c1.password',
      ],
      [{ ...record, inFlight: { ...record.inFlight, Token: value } }, 'inFlight.Token'],
      [
        { ...record, pendingRetirements: [{ keyId: 'k', notBefore: 'x', secret: value }] },
        'pendingRetirements.0.secret',
      ],
    ];
    for (const [bad, field] of cases) {
      const error: unknown = await ledger.write(bad as TargetRecord).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(LedgerWriteRejectedError);
      expect((error as Error).message).toContain(`"${field}"`);
      expect((error as Error).message).not.toContain(value);
    }
    const badEntry = { ...entry(1), secretText: value } as HistoryEntry;
    await expect(ledger.appendHistory('app-1', badEntry)).rejects.toThrow(LedgerWriteRejectedError);
    expect(await ledger.read('app-1')).toBeUndefined();
    expect(await ledger.history('app-1')).toEqual([]);
    expect(await ledger.listAppIds()).toEqual([]);
  });

  it('refuses a record that is not one (the engine would not be able to read it back)', async () => {
    const { ledger } = make();
    const broken = { ...fullRecord('app-1'), connectors: { c1: { keyId: 7 } } } as unknown as TargetRecord;
    await expect(ledger.write(broken)).rejects.toThrow(/connectors\.c1\.keyId/);
    const badStep = { ...entry(1), outcome: 'exploded' } as unknown as HistoryEntry;
    await expect(ledger.appendHistory('app-1', badStep)).rejects.toThrow(LedgerWriteRejectedError);
    expect(await ledger.read('app-1')).toBeUndefined();
  });
});

describe('RedisLedger on Redis', () => {
  function ledgerWithPrefix() {
    const keyPrefix = uniquePrefix();
    return { keyPrefix, ledger: new RedisLedger(shared, { keyPrefix }) };
  }

  it('reads many records in one command: a single MGET, as the server sees it', async () => {
    const client = new Redis(inject('redisUrl'), { maxRetriesPerRequest: 1 });
    const monitor = await shared.monitor();
    try {
      const clientLedger = new RedisLedger(client, { keyPrefix: uniquePrefix() });
      await clientLedger.write(emptyRecord('a', 't'));
      await clientLedger.write(emptyRecord('b', 't'));
      const addr = /(?:^|\s)addr=(\S+)/.exec(await client.client('INFO'))?.[1];
      expect(addr).toBeDefined();
      const seen: string[][] = [];
      monitor.on('monitor', (_time: string, args: string[], source: string) => {
        if (source === addr) seen.push(args);
      });
      const untilSeen = async (marker: string) => {
        await client.echo(marker);
        await vi.waitFor(() => expect(seen.some((args) => args[1] === marker)).toBe(true), { timeout: 2000 });
      };
      await untilSeen('start');
      seen.length = 0;
      const many = await clientLedger.readMany(['a', 'b', 'c', 'd', 'e']);
      await untilSeen('end');
      expect(many.size).toBe(2);
      expect(seen.slice(0, -1).map((args) => args[0]?.toLowerCase())).toEqual(['mget']);
      expect(seen[0]?.length).toBe(6);
    } finally {
      monitor.disconnect();
      await client.quit();
    }
  });

  it('keeps every key under the prefix and its hash tag, so Redis Cluster sees one slot', async () => {
    const { keyPrefix, ledger } = ledgerWithPrefix();
    await ledger.write(fullRecord('app-1'));
    await ledger.appendHistory('app-1', entry(1));
    await ledger.acquireLock('app-1', 'owner-1', 10_000);
    const keys = await shared.keys(`${keyPrefix}*`);
    expect(keys.sort()).toEqual(
      ['history:app-1', 'lock:app-1', 'target:app-1', 'targets'].map((rest) => `${keyPrefix}:ledger:${rest}`),
    );
    for (const key of keys) expect(hashTagOf(key)).toBe(hashTagOf(keyPrefix));
  });

  it('refuses a Cluster prefix without a hash tag (the write script would fail with CROSSSLOT)', async () => {
    const cluster = new Cluster([{ host: '127.0.0.1', port: await freePort() }], { lazyConnect: true });
    try {
      expect(() => new RedisLedger(cluster, { keyPrefix: 'rotator' })).toThrow(/hash tag/);
      expect(() => new RedisLedger(cluster, { keyPrefix: '{rotator}' })).not.toThrow();
    } finally {
      cluster.disconnect();
    }
  });

  it('fails loudly on a corrupt or foreign value, naming the key and never quoting the value', async () => {
    const { keyPrefix, ledger } = ledgerWithPrefix();
    const value = 'S3cr3t-looking-foreign-value';
    const target = `${keyPrefix}:ledger:target:app-1`;
    const cases = [
      value,
      JSON.stringify({ appId: 'app-1', note: value }),
      JSON.stringify({ ...fullRecord('app-1'), inFlight: { step: value } }),
      JSON.stringify(fullRecord('another-app')),
    ];
    for (const stored of cases) {
      await shared.set(target, stored);
      for (const read of [() => ledger.read('app-1'), () => ledger.readMany(['app-0', 'app-1'])]) {
        const error: unknown = await read().catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(LedgerCorruptError);
        expect((error as LedgerCorruptError).key).toBe(target);
        expect((error as Error).message).toContain(target);
        expect((error as Error).message).not.toContain(value);
      }
    }
    expect((await ledger.read('app-1').catch((e: unknown) => e)) as Error).toHaveProperty(
      'message',
      expect.stringContaining('another app (another-app)'),
    );

    await ledger.appendHistory('app-1', entry(1));
    await shared.lpush(`${keyPrefix}:ledger:history:app-1`, value);
    await expect(ledger.history('app-1')).rejects.toThrow(LedgerCorruptError);
  });
});

describe('createRedis and checkRedis', () => {
  const password = `pw-${random()}`;
  let own: RedisServerHandle;
  let admin: Redis;
  let tlsPort: number;
  let certDir: string;
  let caFile: string;
  const opened: (Redis | Cluster)[] = [];

  function config(overrides: Partial<RedisConfig>): RedisConfig {
    return {
      url: `redis://127.0.0.1:${own.port}`,
      username: undefined,
      password: undefined,
      tls: undefined,
      sentinel: undefined,
      cluster: undefined,
      keyPrefix: '{rotator}',
      ...overrides,
    };
  }

  function open(redisConfig: RedisConfig, purpose: 'worker' | 'producer' = 'producer'): Redis | Cluster {
    const redis = createRedis(redisConfig, purpose);
    // Expected failures are asserted through checkRedis; this keeps ioredis from printing them too.
    redis.on('error', () => undefined);
    opened.push(redis);
    return redis;
  }

  beforeAll(async () => {
    certDir = await mkdtemp(join(tmpdir(), 'ledger-tls-'));
    caFile = join(certDir, 'cert.pem');
    const keyFile = join(certDir, 'key.pem');
    await Promise.all([writeFile(caFile, inject('tlsCert')), writeFile(keyFile, inject('tlsKey'))]);
    tlsPort = await freePort();
    own = await startRedisServer([
      '--requirepass',
      password,
      '--tls-port',
      String(tlsPort),
      '--tls-cert-file',
      caFile,
      '--tls-key-file',
      keyFile,
      '--tls-auth-clients',
      'no',
    ]);
    admin = new Redis({ port: own.port, password, maxRetriesPerRequest: 1 });
  });

  afterAll(async () => {
    for (const redis of opened) redis.disconnect();
    admin.disconnect();
    await own.stop();
    await rm(certDir, { recursive: true, force: true });
  });

  it('reports the version and noeviction of the test run’s server, without warnings', async () => {
    const result = await checkRedis(shared);
    expect(result.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(result).toMatchObject({ maxmemoryPolicy: 'noeviction', warnings: [] });
  });

  it('connects with the password from the URL or from the config’s secret', async () => {
    const fromUrl = open(config({ url: `redis://:${password}@127.0.0.1:${own.port}` }));
    const fromSecret = open(config({ password: new Secret(password) }));
    for (const redis of [fromUrl, fromSecret]) {
      expect((await checkRedis(redis)).maxmemoryPolicy).toBe('noeviction');
      expect(await redis.ping()).toBe('PONG');
    }
  });

  it('fails on a wrong password without quoting either password', async () => {
    const wrong = `wrong-${random()}`;
    const redis = open(config({ url: `redis://:${wrong}@127.0.0.1:${own.port}` }));
    // No retry can fix a wrong password: the check answers at once rather than at the timeout.
    const error: unknown = await checkRedis(redis, { readyTimeoutMs: 5000 }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe(
      'Redis refused the connection: WRONGPASS invalid username-password pair or user is disabled.',
    );
    expect((error as Error).message).not.toContain(wrong);
    expect((error as Error).message).not.toContain(password);
    expect(() => createRedis(config({ url: `redis://:${wrong}@[::1` }), 'producer')).toThrow(
      'redis.url is not a valid URL',
    );
  });

  it('sets the retry behaviour per purpose: workers wait out outages, producers fail fast', () => {
    const worker = open(config({ password: new Secret(password) }), 'worker') as Redis;
    const producer = open(config({ password: new Secret(password) }), 'producer') as Redis;
    expect(worker.options).toMatchObject({ maxRetriesPerRequest: null, enableOfflineQueue: true });
    expect(producer.options).toMatchObject({ maxRetriesPerRequest: 1, enableOfflineQueue: false });
    expect(worker.options.connectionName).toBe('rotator-worker');
  });

  it('warns, without failing, when the policy is not noeviction or CONFIG is refused', async () => {
    await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
    try {
      const lru = await checkRedis(open(config({ password: new Secret(password) })));
      expect(lru.maxmemoryPolicy).toBe('allkeys-lru');
      expect(lru.warnings).toEqual([expect.stringMatching(/maxmemory-policy is allkeys-lru.*noeviction/)]);
    } finally {
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
    }
    // Managed Redis forbids CONFIG; an ACL user without it behaves the same way.
    const userPassword = `upw-${random()}`;
    await admin.acl('SETUSER', 'no-config', 'on', `>${userPassword}`, '~*', '&*', '+@all', '-config');
    const limited = open(config({ username: 'no-config', password: new Secret(userPassword) }));
    const result = await checkRedis(limited);
    expect(result.version).toMatch(/^\d+\./);
    expect(result.maxmemoryPolicy).toBeUndefined();
    expect(result.warnings).toEqual([expect.stringContaining('cannot read maxmemory-policy')]);
    expect(result.warnings.join()).not.toContain(userPassword);
  });

  it('refuses a server older than 6.2', async () => {
    const redis = open(config({ password: new Secret(password) })) as Redis;
    // Once ready: ioredis' own ready check calls info() too.
    await checkRedis(redis);
    vi.spyOn(redis, 'info').mockResolvedValue('# Server\r\nredis_version:6.0.16\r\n');
    await expect(checkRedis(redis)).rejects.toThrow(
      'Redis 6.0.16 is too old: the rotator needs 6.2 or newer (BullMQ requirement)',
    );
  });

  it('speaks TLS with the configured CA and server name (rediss:// or tls.enabled)', async () => {
    const tls = { enabled: true, caFile, certFile: undefined, keyFile: undefined, rejectUnauthorized: true };
    const good = open(
      config({
        url: `rediss://127.0.0.1:${tlsPort}`,
        password: new Secret(password),
        tls: { ...tls, servername: 'localhost' },
      }),
    );
    expect((await checkRedis(good)).maxmemoryPolicy).toBe('noeviction');
    const viaFlag = open(
      config({
        url: `redis://127.0.0.1:${tlsPort}`,
        password: new Secret(password),
        tls: { ...tls, servername: 'localhost' },
      }),
    );
    // A producer connection refuses commands until it is ready; checkRedis waits for that.
    await checkRedis(viaFlag);
    expect(await viaFlag.ping()).toBe('PONG');

    const wrongName = open(
      config({
        url: `rediss://127.0.0.1:${tlsPort}`,
        password: new Secret(password),
        tls: { ...tls, servername: 'wrong.example' },
      }),
    );
    await expect(checkRedis(wrongName, { readyTimeoutMs: 5000 })).rejects.toThrow(
      /^Redis refused the connection: .*wrong\.example/,
    );

    expect(() =>
      createRedis(
        config({ tls: { ...tls, caFile: join(certDir, 'missing.pem'), servername: undefined } }),
        'producer',
      ),
    ).toThrow(/cannot read redis\.tls\.caFile .*ENOENT/);
    expect(() =>
      createRedis(
        config({
          url: `rediss://127.0.0.1:${tlsPort}`,
          tls: { ...tls, enabled: false, servername: undefined },
        }),
        'producer',
      ),
    ).toThrow(/rediss:\/\/ .*redis\.tls\.enabled is false/);
  });

  it('builds Sentinel and Cluster connections from the config', () => {
    const sentinelPassword = `spw-${random()}`;
    const sentinel = open(
      config({
        url: 'redis://127.0.0.1/2',
        password: new Secret(password),
        sentinel: {
          masterName: 'mymaster',
          nodes: [{ host: '127.0.0.1', port: 1 }],
          password: new Secret(sentinelPassword),
        },
      }),
      'worker',
    ) as Redis;
    expect(sentinel.options).toMatchObject({
      name: 'mymaster',
      sentinels: [{ host: '127.0.0.1', port: 1 }],
      sentinelPassword,
      password,
      db: 2,
      maxRetriesPerRequest: null,
    });

    const cluster = open(
      config({ password: new Secret(password), cluster: { nodes: [{ host: '127.0.0.1', port: 1 }] } }),
    ) as Cluster;
    expect(cluster).toBeInstanceOf(Cluster);
    expect(cluster.options).toMatchObject({
      enableOfflineQueue: false,
      redisOptions: { password, maxRetriesPerRequest: 1, connectionName: 'rotator-producer' },
    });
    expect(() =>
      createRedis(
        config({ url: 'redis://127.0.0.1/3', cluster: { nodes: [{ host: '127.0.0.1', port: 1 }] } }),
        'worker',
      ),
    ).toThrow('Redis Cluster has only database 0');
  });
});
