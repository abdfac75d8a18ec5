import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { enqueueRotation } from '../../src/queue/rotation-queue.ts';
import { keysInUse } from '../../src/rotation/ledger-model.ts';
import type { EntraGraphFaults } from '../../src/sim/entra/entra-graph-simulator.ts';
import type { QualysFaults } from '../../src/sim/qualys/qualys-simulator.ts';
import { Prng } from '../../src/sim/shared/prng.ts';
import { expectNoSecrets } from '../support/leak-scan.ts';
import {
  connectRotatorRedis,
  expectConsistent,
  managedKeys,
  startEstate,
  waitFor,
  type Estate,
  type EstateApp,
  type RotatorRedis,
} from '../support/worker-estate.ts';
import { spawnWorker, waitUntilReady, type WorkerProcess } from '../support/worker-process.ts';

/**
 * Issue 8, upstream chaos: one real `rotator worker` process rotates 15 targets while both upstreams
 * misbehave — 10% 5xx from Qualys and from Graph, throttling bursts, hung requests, malformed Qualys
 * bodies, stale Qualys lists, ambiguous addPassword answers, and Entra slow to accept new secrets —
 * under a Qualys rate limit. Every target ends rotated or dead-lettered with the right reason (two
 * permanent failures are planted: an app Entra does not have, a connector Qualys does not know), no
 * managed key is left behind, no secret leaks, and the Qualys rate limit is never exceeded.
 *
 * Durations are scaled down (timeouts 1.5 s instead of 30 s, a 10 s rate-limit window instead of an
 * hour). The simulators' fault PRNGs and the fault schedule are seeded: the seed is printed, and
 * `ROTATOR_TEST_CHAOS_SEED=<n>` replays a run (the timing of a real process still varies a little).
 */

const SEED = seedFromEnv(process.env.ROTATOR_TEST_CHAOS_SEED);

/** The Qualys subscription's limit as the simulator enforces it: a fixed window from its first call. */
const QUALYS_LIMIT = { limit: 12, windowMs: 4_000 };
/**
 * The rotator's budget: fixed windows aligned on the clock, so two of them can meet inside one window
 * of the gateway's. Half the limit is what guarantees the gateway never blocks us, whatever the
 * alignment.
 */
const CALL_BUDGET = { calls: QUALYS_LIMIT.limit / 2, windowMs: QUALYS_LIMIT.windowMs };
const TARGETS = 15;
const CHAOS_ROUNDS = 6;
const ROUND_EVERY_MS = 3_000;

function seedFromEnv(value: string | undefined): number {
  if (value === undefined || value === '') return Math.floor(Math.random() * 2 ** 31);
  const seed = Number(value);
  if (!Number.isInteger(seed)) throw new Error('ROTATOR_TEST_CHAOS_SEED must be an integer');
  return seed;
}

const QUALYS_COUNT_FAULTS = ['throttleNext', 'hangNext', 'malformedNext', 'staleListNext'] as const;
const ENTRA_COUNT_FAULTS = ['throttleNext', 'hangNext', 'ambiguousAddNext'] as const;
type QualysCountFault = (typeof QUALYS_COUNT_FAULTS)[number];
type EntraCountFault = (typeof ENTRA_COUNT_FAULTS)[number];

/**
 * Arms "next N calls" faults and counts how many of them the calls used up: setting a fault replaces
 * its counter, so what was left of the previous one is read first.
 */
class FaultLedger {
  readonly injected: Record<string, number> = {};
  readonly #armed = new Map<string, number>();
  readonly #estate: Estate;

  constructor(estate: Estate) {
    this.#estate = estate;
  }

  qualys(patch: Partial<Pick<QualysFaults, QualysCountFault>>): void {
    for (const kind of Object.keys(patch) as QualysCountFault[]) {
      this.#settleQualys(kind);
      const value = patch[kind];
      this.#armed.set(`qualys.${kind}`, typeof value === 'number' ? value : (value?.count ?? 0));
    }
    this.#estate.qualys.setFaults(patch);
  }

  entra(patch: Partial<Pick<EntraGraphFaults, EntraCountFault>>): void {
    for (const kind of Object.keys(patch) as EntraCountFault[]) {
      this.#settleEntra(kind);
      this.#armed.set(`graph.${kind}`, patch[kind]?.count ?? 0);
    }
    this.#estate.entra.setFaults(patch);
  }

  /** Counts what the calls used of every fault armed so far. */
  settle(): Record<string, number> {
    for (const kind of QUALYS_COUNT_FAULTS) this.#settleQualys(kind);
    for (const kind of ENTRA_COUNT_FAULTS) this.#settleEntra(kind);
    return this.injected;
  }

  #settleQualys(kind: QualysCountFault): void {
    const faults = this.#estate.qualys.faults();
    this.#use(`qualys.${kind}`, kind === 'staleListNext' ? faults.staleListNext : faults[kind].count);
  }

  #settleEntra(kind: EntraCountFault): void {
    this.#use(`graph.${kind}`, this.#estate.entra.faults()[kind].count);
  }

  #use(key: string, left: number): void {
    const armed = this.#armed.get(key) ?? 0;
    this.injected[key] = (this.injected[key] ?? 0) + Math.max(0, armed - left);
    this.#armed.set(key, left);
  }
}

/** Every value under the prefix, whatever its type, as text (for the leak scan). */
async function dumpKeyspace(redis: Redis, prefix: string): Promise<string[]> {
  const texts: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      texts.push(key);
      if (type === 'string') texts.push((await redis.get(key)) ?? '');
      else if (type === 'hash') texts.push(JSON.stringify(await redis.hgetall(key)));
      else if (type === 'list') texts.push(...(await redis.lrange(key, 0, -1)));
      else if (type === 'set') texts.push(...(await redis.smembers(key)));
      else if (type === 'zset') texts.push(...(await redis.zrange(key, 0, -1)));
      else if (type === 'stream') texts.push(JSON.stringify(await redis.xrange(key, '-', '+')));
    }
  } while (cursor !== '0');
  return texts;
}

let estate: Estate;
let worker: WorkerProcess | undefined;
let rotator: RotatorRedis | undefined;

beforeAll(async () => {
  estate = await startEstate({
    tls: { cert: inject('tlsCert'), key: inject('tlsKey') },
    redisUrl: inject('redisUrl'),
    // The last app has no connector in Qualys: the configuration gives it one Qualys does not know.
    connectorsOf: [...Array.from({ length: TARGETS - 2 }, (_, index) => 1 + (index % 3)), 0],
    // Slow propagation: Entra accepts a new secret 2 s after it is made.
    propagationDelayMs: 2_000,
    label: 'upstream-chaos',
    qualysOptions: {
      seed: SEED,
      // 409 for the limiter, 429 for the injected throttles: a 409 in the call log is a real block.
      rateLimit: { ...QUALYS_LIMIT, blockStatus: 409 },
    },
    entraOptions: { seed: SEED + 1 },
  });
});

afterAll(async () => {
  worker?.kill();
  await worker?.exited;
  await rotator?.close();
  await estate.close();
});

describe('upstream chaos', () => {
  it('every target ends rotated or dead-lettered with the right reason; the Qualys limit is never exceeded', async () => {
    const started = performance.now();
    console.info(`upstream chaos seed: ${SEED} (replay with ROTATOR_TEST_CHAOS_SEED=${SEED})`);
    const prng = new Prng(SEED);

    // The planted permanent failures: an app Entra does not have, a connector Qualys does not know.
    const missing: EstateApp = {
      name: 'upstream-chaos-missing',
      appId: randomUUID(),
      objectId: randomUUID(),
      connectors: [randomUUID()],
    };
    const bare = estate.apps.at(-1)!;
    const refused: EstateApp = { ...bare, connectors: [randomUUID()] };
    const healthy = estate.apps.slice(0, -1);
    const apps = [...healthy, refused, missing];

    const { file, keyPrefix } = estate.writeConfig(
      {
        qualys: {
          http: {
            connectTimeout: '1s',
            headersTimeout: '1500ms',
            bodyTimeout: '1500ms',
            maxAttempts: 4,
            retryBaseDelay: '50ms',
            retryMaxDelay: '300ms',
            maxThrottleWait: '2s',
          },
          callBudget: { calls: CALL_BUDGET.calls, window: `${CALL_BUDGET.windowMs}ms` },
        },
        azure: {
          readinessPollInterval: '200ms',
          readinessTimeout: '30s',
          graph: {
            requestTimeout: '1500ms',
            maxAttempts: 4,
            retryBaseDelay: '50ms',
            retryMaxDelay: '300ms',
            maxThrottleWait: '5s',
          },
        },
        rotation: {
          batchWindow: '500ms',
          verifyAttempts: 5,
          verifyDelay: '300ms',
          lockTtl: '10s',
          // The hourly sweep, scaled down: it re-queues what a run could not confirm.
          schedule: '*/5 * * * * *',
        },
        worker: {
          concurrency: 16,
          attempts: 10,
          backoffBase: '200ms',
          backoffMax: '2s',
          shutdownTimeout: '5s',
        },
      },
      apps,
    );
    const config = loadConfig({ path: file, env: {} });
    rotator = connectRotatorRedis(estate.redisUrl, keyPrefix);
    const { qualys, entra } = estate;

    // The steady chaos, and the first round of bursts.
    qualys.setFaults({ errorRate: 0.1 });
    entra.setFaults({ errorRate: 0.1 });
    const faults = new FaultLedger(estate);
    // One round of bursts; the PRNG decides which faults, how many calls, how long the waits.
    const round = () => {
      const upTo = (most: number) => 1 + Math.floor(prng.next() * most);
      if (prng.next() < 0.8) {
        const count = 1 + upTo(3);
        const retryAfterSec = prng.next() < 0.3 ? 3 : 1;
        faults.qualys({ throttleNext: { count, retryAfterSec, status: 429 } });
      }
      if (prng.next() < 0.5) faults.qualys({ hangNext: { count: 1 } });
      if (prng.next() < 0.6) faults.qualys({ malformedNext: { count: upTo(2) } });
      if (prng.next() < 0.6) faults.qualys({ staleListNext: upTo(2) });
      if (prng.next() < 0.8) faults.entra({ throttleNext: { count: 1 + upTo(3), retryAfterSec: 1 } });
      if (prng.next() < 0.5) faults.entra({ hangNext: { count: 1 } });
      if (prng.next() < 0.6)
        faults.entra({ ambiguousAddNext: { count: 1, mode: prng.next() < 0.5 ? 'hang' : '500' } });
    };
    round();
    let rounds = 1;
    const chaos = setInterval(() => {
      if (rounds >= CHAOS_ROUNDS) return;
      rounds += 1;
      round();
    }, ROUND_EVERY_MS);

    try {
      worker = spawnWorker(file);
      const url = await worker.url();
      await waitUntilReady(url, 15_000);
      for (const app of apps) {
        await enqueueRotation(rotator.queues.rotation, config.worker, {
          appId: app.appId,
          forced: false,
          origin: 'operator',
        });
      }

      const isSettled = async (): Promise<boolean> => {
        const records = await rotator!.records(healthy);
        const rotated = healthy.every((app) => {
          const record = records.get(app.appId);
          return (
            record?.lastResult?.outcome === 'rotated' &&
            record.inFlight === undefined &&
            record.rotateAgain !== true &&
            managedKeys(entra, app.appId).length === 1
          );
        });
        const letters = await rotator!.queues.deadLetters.list();
        return (
          rotated &&
          letters.some((item) => item.appId === missing.appId) &&
          letters.some((item) => item.appId === refused.appId)
        );
      };
      const settled = await waitFor(
        'every target rotated or dead-lettered',
        async () => ((await isSettled()) ? true : undefined),
        75_000,
        250,
      ).catch(async (error: unknown) => {
        const records = await rotator!.records(apps);
        const summary = [...healthy, refused].map((app) => {
          const record = records.get(app.appId);
          return `${app.name}: ${record?.lastResult?.outcome ?? 'none'} ${record?.lastResult?.errorCode ?? ''} inFlight=${record?.inFlight?.step ?? '-'} again=${record?.rotateAgain ?? false} managed=${managedKeys(entra, app.appId).length}`;
        });
        throw new Error(
          `${String(error)}\nseed ${SEED}\n${summary.join('\n')}\ndead letters: ${JSON.stringify(await rotator!.queues.deadLetters.list())}\n${worker!.tail(40)}`,
        );
      });
      expect(settled).toBe(true);
      const metricsText = await (await fetch(new URL('/metrics', url))).text();
      clearInterval(chaos);

      worker.signal('SIGTERM');
      expect(await worker.exited, worker.tail()).toMatchObject({ code: 0, signal: null });
      const wallMs = performance.now() - started;

      // Every healthy target: rotated, each connector holding a secret Entra accepts that the rotator
      // pushed, exactly one managed key (gracePeriod 0s, keepPrevious 0: nothing orphaned).
      expectConsistent(estate, healthy);
      const records = await rotator.records(apps);
      for (const app of healthy) {
        const record = records.get(app.appId)!;
        expect(record.lastResult?.outcome, app.name).toBe('rotated');
        expect(record.currentKeyId, app.name).toBe(managedKeys(entra, app.appId)[0]?.keyId);
        for (const connector of app.connectors) {
          const secret = qualys.storedSecret(connector, app.appId)!;
          expect(qualys.receivedSecrets().includes(secret), `${app.name} holds a pushed secret`).toBe(true);
          expect(record.connectors[connector]).toMatchObject({ keyId: record.currentKeyId, mayHold: [] });
        }
      }

      // The planted failures, dead-lettered with the right reason, and nothing else.
      const letters = await rotator.queues.deadLetters.list();
      expect(
        letters.map(({ appId, connectors, step, errorCode }) => ({ appId, connectors, step, errorCode })),
      ).toEqual(
        expect.arrayContaining([
          {
            appId: missing.appId,
            connectors: missing.connectors,
            step: 'plan',
            errorCode: 'ROT_ERR_GRAPH_APP_NOT_FOUND',
          },
          {
            appId: refused.appId,
            connectors: refused.connectors,
            step: 'push',
            errorCode: 'CONNECTOR_NOT_FOUND',
          },
        ]),
      );
      expect(letters, JSON.stringify(letters)).toHaveLength(2);
      // The refused app keeps its old key, and no orphan: its new keys are removed, except those a
      // register with no answer (a timeout, a 5xx: never repeated, as it is not idempotent) may have
      // left on the connector, which the ledger keeps as "may hold" (invariant 1), and one a stopped
      // rotation left in flight for the next run to undo.
      const refusedRecord = records.get(refused.appId);
      const mayHold = refusedRecord === undefined ? new Set<string>() : keysInUse(refusedRecord);
      const inFlight = refusedRecord?.inFlight;
      const keptForRefused = managedKeys(entra, refused.appId);
      for (const key of keptForRefused) {
        const explained =
          mayHold.has(key.keyId) ||
          key.keyId === inFlight?.keyId ||
          key.displayName === inFlight?.displayName;
        expect(explained, `managed key ${key.keyId} of the refused app is accounted for`).toBe(true);
      }
      expect(
        entra.passwords(refused.appId).filter((key) => key.displayName === 'set up by hand'),
      ).toHaveLength(1);

      // The Qualys rate limit was never exceeded: no call was blocked by the gateway's limiter (409;
      // the injected throttles answer 429), and no window of its length ever held more calls than it.
      const qualysCalls = qualys.calls();
      const blocked = qualysCalls.filter((call) => call.status === 409);
      expect(blocked, 'calls the gateway blocked for its rate limit').toEqual([]);
      const maxInWindow = qualys.maxObservedRate(QUALYS_LIMIT.windowMs);
      expect(maxInWindow).toBeLessThanOrEqual(QUALYS_LIMIT.limit);
      // The rotator's own budget held: per budget window (aligned on the clock), the calls that
      // arrived — leaving out the first 250 ms, when a call taken in the previous window may land.
      const perBudgetWindow = new Map<number, number>();
      for (const call of qualysCalls) {
        if (call.at % CALL_BUDGET.windowMs < 250) continue;
        const window = Math.floor(call.at / CALL_BUDGET.windowMs);
        perBudgetWindow.set(window, (perBudgetWindow.get(window) ?? 0) + 1);
      }
      const maxPerBudgetWindow = Math.max(...perBudgetWindow.values());
      expect(maxPerBudgetWindow).toBeLessThanOrEqual(CALL_BUDGET.calls);

      // No secret in the worker's output, in Redis under the test's prefix, or on /metrics.
      expectNoSecrets(
        {
          stdout: worker.stdout,
          stderr: worker.stderr,
          redis: await dumpKeyspace(rotator.redis, keyPrefix),
          metrics: [metricsText],
        },
        estate.knownSecrets(),
      );

      const injected = faults.settle();
      const status5xx = qualysCalls.filter((call) => call.status >= 500).length;
      const graphCalls = entra.calls();
      const figures = {
        seed: SEED,
        targets: apps.length,
        rotated: healthy.length,
        deadLettered: letters.map((item) => `${item.targetName}: ${item.errorCode} at ${item.step}`),
        refusedAppKeysKeptAsMayHold: keptForRefused.length,
        qualysCalls: qualysCalls.length,
        qualysCallsByEndpoint: Object.fromEntries(
          ['auth', 'register', 'update', 'list', 'sync', 'delete'].map((endpoint) => [
            endpoint,
            qualysCalls.filter((call) => call.endpoint === endpoint).length,
          ]),
        ),
        qualysCallsPerRotatedTarget: Math.round((qualysCalls.length / healthy.length) * 10) / 10,
        qualysMaxInAnyWindow: `${maxInWindow} of ${QUALYS_LIMIT.limit} per ${QUALYS_LIMIT.windowMs / 1000} s`,
        rotatorBudgetMaxPerWindow: `${maxPerBudgetWindow} of ${CALL_BUDGET.calls}`,
        qualysBlockedByLimit: blocked.length,
        qualysRandom5xx: status5xx,
        graphCalls: graphCalls.filter((call) => call.endpoint !== 'token' && call.endpoint !== 'openid')
          .length,
        graph503: graphCalls.filter((call) => call.status === 503).length,
        entraTokenRequests: graphCalls.filter((call) => call.endpoint === 'token').length,
        addPasswordCalls: graphCalls.filter((call) => call.endpoint === 'addPassword').length,
        budgetPauses: worker.logs.filter(
          (line) =>
            line.msg === 'upstream throttled us: pausing the queue' &&
            /call budget of/.test(JSON.stringify(line.err)),
        ).length,
        rateLimitWaits: metricsText
          .split('\n')
          .filter((line) => line.startsWith('rotator_rate_limit_waits_total{')),
        faultsInjected: injected,
        chaosRounds: rounds,
        wallMs: Math.round(wallMs),
      };
      console.info(JSON.stringify(figures, null, 2));
    } finally {
      clearInterval(chaos);
    }
  }, 120_000);
});
