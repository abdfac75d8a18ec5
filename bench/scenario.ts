import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { loadConfig } from '../src/config/load.ts';
import { freePort, startRedisServer } from '../src/demo/redis-server.ts';
import { RedisLedger } from '../src/ledger/redis-ledger.ts';
import { enqueueTargets } from '../src/queue/operations.ts';
import { openQueues } from '../src/queue/rotation-queue.ts';
import { throughputBounds, type Bounds } from './bounds.ts';
import { startBenchEstate, type BenchEstate } from './estate.ts';
import { createMemoryCgroup, type MemoryCgroup } from './memory-cgroup.ts';
import { ProcessSampler } from './process-stats.ts';
import { sleep } from '../src/util/sleep.ts';

/** The conditions every scenario shares: what the issue calls realistic, scaled down in time. */
export interface BenchConditions {
  readonly tls: { readonly cert: string; readonly key: string; readonly certPath: string };
  readonly latencyMs: number;
  readonly propagationMs: number;
  /** Qualys' limit (300 calls an hour), its window divided by `timeScale`. */
  readonly qualysLimit: number;
  readonly qualysWindowMs: number;
  readonly tenants: number;
  /** The container's memory limit the worker runs under (the chart's default), when a cgroup can be made. */
  readonly memoryLimitBytes: number | undefined;
}

export interface ScenarioSpec {
  readonly name: string;
  readonly targets: number;
  readonly concurrency: number;
  readonly batchWindow: string;
  readonly batchWindowMs: number;
  readonly batchMaxPairs: number;
}

export interface ScenarioResult {
  readonly name: string;
  readonly targets: number;
  readonly rotated: number;
  readonly deadLettered: number;
  readonly seconds: number;
  readonly perMinute: number;
  readonly bounds: Bounds;
  readonly ratioToBound: number;
  readonly calls: {
    readonly qualys: Readonly<Record<string, number>>;
    readonly graph: Readonly<Record<string, number>>;
    readonly graphBatchedRequests: number;
    readonly entraTokens: number;
  };
  readonly perTarget: { readonly qualys: number; readonly graph: number; readonly entraTokens: number };
  readonly qualysMaxCallsPerWindow: number;
  readonly workerCpuSeconds: number;
  readonly cpuSecondsPer1000: number;
  readonly peakRssMb: number;
  /** RSS once ready, before the first rotation. */
  readonly idleRssMb: number;
  /** What the worker ran under: "cgroup v1, 384 MiB", or "no memory limit". */
  readonly memoryLimit: string;
  readonly sweep: {
    readonly ms: number;
    readonly upstreamCalls: number;
    readonly byEndpoint: Readonly<Record<string, number>>;
    readonly cpuSeconds: number;
  };
}

/** The compiled worker, as the image runs it (`npm run bench` builds it first). */
const WORKER_ENTRY = join(import.meta.dirname, '../dist/cli/main.js');

const GRAPH_ENDPOINTS = ['getApp', 'listApps', 'addPassword', 'removePassword', 'batch'] as const;
const QUALYS_ENDPOINTS = ['auth', 'register', 'update', 'list', 'delete', 'sync'] as const;

function counts<E extends string>(
  endpoints: readonly E[],
  count: (endpoint: E) => number,
): Record<E, number> {
  return Object.fromEntries(endpoints.map((endpoint) => [endpoint, count(endpoint)])) as Record<E, number>;
}

function sum(record: Readonly<Record<string, number>>): number {
  return Object.values(record).reduce((total, value) => total + value, 0);
}

async function waitUntil(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
  everyMs = 250,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

async function ready(url: string): Promise<boolean> {
  try {
    return (await fetch(url)).ok;
  } catch {
    return false;
  }
}

/**
 * One run: a fresh Redis and simulators, `rotator worker` in a process of its own, every target queued
 * at once, then one sweep once nothing is due. Upstream calls are counted by the simulators; the worker's
 * CPU and memory are read from /proc.
 */
export async function runScenario(conditions: BenchConditions, spec: ScenarioSpec): Promise<ScenarioResult> {
  const dir = await mkdtemp(join(tmpdir(), `rotator-bench-${spec.name}-`));
  const redisServer = await startRedisServer();
  let estate: BenchEstate | undefined;
  let worker: ChildProcess | undefined;
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
  const cgroups: (MemoryCgroup | undefined)[] = [];
  try {
    estate = await startBenchEstate({ ...conditions, tls: conditions.tls, targets: spec.targets });
    const port = await freePort();
    const keyPrefix = '{bench}';
    const callBudget = Math.floor(conditions.qualysLimit * 0.9);
    const document = {
      qualys: {
        gatewayUrl: estate.qualys.url,
        username: estate.qualys.username,
        password: estate.qualys.password,
        // The rotator's share of the limit, counted in Redis across replicas.
        callBudget: { calls: callBudget, window: `${conditions.qualysWindowMs}ms` },
      },
      azure: {
        cloud: 'custom',
        authorityHost: estate.entra.authorityHost,
        graphEndpoint: estate.entra.graphEndpoint,
        tenants: estate.tenants.map((tenant) => ({
          id: tenant.id,
          auth: { kind: 'clientSecret', clientId: tenant.clientId, clientSecret: tenant.clientSecret },
        })),
      },
      targets: estate.targets.map((target) => ({
        appId: target.appId,
        objectId: target.objectId,
        tenant: target.tenantId,
        connectors: [...target.connectors],
      })),
      rotation: {
        batchWindow: spec.batchWindow,
        batchMaxPairs: spec.batchMaxPairs,
        // Only the benchmark's own sweep runs.
        schedule: '0 0 1 1 *',
      },
      redis: { url: redisServer.url, keyPrefix },
      worker: { concurrency: spec.concurrency },
      http: { host: '127.0.0.1', port },
      logging: { level: 'warn' },
    };
    const file = join(dir, 'rotator.yaml');
    await writeFile(file, stringify(document), { mode: 0o600 });
    const config = loadConfig({ path: file, env: {} });

    const log = createWriteStream(join(dir, 'worker.log'));
    // Under the container's memory limit when this machine lets us make a cgroup: the shell moves
    // itself into the group, then becomes the worker (same pid), so Node sizes its heap from the limit.
    const cgroup =
      conditions.memoryLimitBytes === undefined
        ? undefined
        : createMemoryCgroup(conditions.memoryLimitBytes, `rotator-bench-${process.pid}-${spec.name}`);
    cgroups.push(cgroup);
    const command = [process.execPath, WORKER_ENTRY, 'worker', '--config', file];
    const [executable, ...args] =
      cgroup === undefined
        ? command
        : ['/bin/sh', '-c', 'echo $$ > "$0" && exec "$@"', cgroup.procsFile, ...command];
    worker = spawn(executable ?? process.execPath, args, {
      env: {
        PATH: process.env.PATH ?? '',
        NODE_EXTRA_CA_CERTS: conditions.tls.certPath,
        ...(process.env.BENCH_NODE_OPTIONS === undefined
          ? {}
          : { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker.stdout?.pipe(log);
    worker.stderr?.pipe(log);
    const pid = worker.pid ?? 0;
    const exited = new Promise<never>((_, reject) => {
      worker?.once('exit', (code, signal) =>
        reject(
          new Error(
            `the worker exited (${signal ?? `code ${code}`})${cgroup === undefined ? '' : ` under ${cgroup.description}`}; its log: ${join(dir, 'worker.log')}`,
          ),
        ),
      );
    });
    exited.catch(() => undefined);
    const alive = <T>(work: Promise<T>) => Promise.race([work, exited]);
    await alive(waitUntil('the worker to be ready', 60_000, () => ready(`http://127.0.0.1:${port}/readyz`)));
    const sampler = new ProcessSampler(pid);
    // What the worker holds before any rotation: the code it loaded, the configuration, its connections.
    const idleRssBytes = sampler.now()?.rssBytes ?? 0;
    const memoryDetail: Record<string, number> = {};
    const detailTimer =
      process.env.BENCH_MEMORY_DETAIL === '1'
        ? setInterval(() => {
            fetch(`http://127.0.0.1:${port}/metrics`)
              .then((response) => response.text())
              .then((text) => {
                for (const line of text.split('\n')) {
                  const match =
                    /^(nodejs_(?:heap_size_used|heap_size_total|external_memory)_bytes|nodejs_heap_space_size_used_bytes\{space="[a-z_]+"\}|process_resident_memory_bytes|nodejs_active_handles_total|nodejs_active_resources_total)\s+(\d+(?:\.\d+)?)/.exec(
                      line,
                    );
                  if (match?.[1] !== undefined)
                    memoryDetail[match[1]] = Math.max(memoryDetail[match[1]] ?? 0, Number(match[2]));
                }
              })
              .catch(() => undefined);
          }, 1_000)
        : undefined;
    const cpuAtStart = sampler.now()?.cpuSeconds ?? 0;

    const queues = openQueues(redis, keyPrefix);
    const ledger = new RedisLedger(redis, { keyPrefix });
    const appIds = estate.targets.map((target) => target.appId);
    const startedAt = Date.now();
    const startedIso = new Date(startedAt).toISOString();
    await enqueueTargets(queues, config, { all: true }, false);
    let rotated = 0;
    let deadLettered = 0;
    let lastSuccessMs = startedAt;
    await alive(
      waitUntil('every target to be rotated or dead-lettered', 60 * 60_000, async () => {
        const records = await ledger.readMany(appIds);
        rotated = 0;
        for (const record of records.values()) {
          const at = record.lastSuccessAt;
          if (at !== undefined && at >= startedIso) {
            rotated += 1;
            lastSuccessMs = Math.max(lastSuccessMs, Date.parse(at));
          }
        }
        deadLettered = await queues.deadLetters.count();
        return rotated + deadLettered >= appIds.length;
      }),
    );
    const seconds = (lastSuccessMs - startedAt) / 1000;

    // The last steps of a rotation (reading the app back, scheduling retirement) run after its ledger
    // write: let every job finish, so that the sweep is measured alone.
    // Delayed jobs stay: the schedulers' next sweep and clean-up, and retirements after the grace period.
    await waitUntil('the queue to drain', 10 * 60_000, async () => {
      const running = await queues.rotation.getJobCounts('waiting', 'active', 'prioritized');
      if (Object.values(running).some((count) => count > 0)) return false;
      const delayed = await queues.rotation.getJobs(['delayed']);
      return !delayed.some((job) => job.name === 'rotate');
    });
    const cpuAfterRotations = sampler.now()?.cpuSeconds ?? cpuAtStart;
    // Counted once every job has finished: a rotation's last calls come after its ledger write.
    const qualys = counts(QUALYS_ENDPOINTS, (endpoint) => estate?.qualys.callCount(endpoint) ?? 0);
    const graph = counts(GRAPH_ENDPOINTS, (endpoint) => estate?.entra.callCount(endpoint) ?? 0);
    const entraTokens = estate.entra.callCount('token');
    const graphBatchedRequests = estate.entra.batchedRequestCount();
    const qualysMaxCallsPerWindow = estate.qualys.maxObservedRate(conditions.qualysWindowMs);

    // The sweep with nothing due: it must read the ledger, not the upstreams.
    const before = estate.qualys.callCount() + estate.entra.callCount();
    const qualysLogged = estate.qualys.calls().length;
    const entraLogged = estate.entra.calls().length;
    const sweepJob = await queues.rotation.add('sweep', {});
    const sweepStarted = Date.now();
    // Polled every 10 ms: the sweep's time is what is measured.
    await waitUntil(
      'the sweep to finish',
      10 * 60_000,
      async () => {
        const state = await queues.rotation.getJobState(sweepJob.id ?? '');
        return state === 'completed' || state === 'unknown' || state === 'failed';
      },
      10,
    );
    const sweepMs = Date.now() - sweepStarted;
    const sweepCalls = estate.qualys.callCount() + estate.entra.callCount() - before;
    const sweepEndpoints: Record<string, number> = {};
    for (const call of [
      ...estate.qualys.calls().slice(qualysLogged),
      ...estate.entra.calls().slice(entraLogged),
    ]) {
      sweepEndpoints[call.endpoint] = (sweepEndpoints[call.endpoint] ?? 0) + 1;
    }
    const cpuAfterSweep = sampler.now()?.cpuSeconds ?? cpuAfterRotations;
    const stats = sampler.stop();
    clearInterval(detailTimer);
    if (detailTimer !== undefined)
      process.stderr.write(
        `bench: ${spec.name} memory detail (peaks, MB or count): ${JSON.stringify(
          Object.fromEntries(
            Object.entries(memoryDetail).map(([name, value]) => [
              name,
              name.endsWith('_bytes') ? Math.round(value / 2 ** 20) : value,
            ]),
          ),
        )}\n`,
      );
    await queues.close();

    const bounds = throughputBounds({
      qualysLimit: conditions.qualysLimit,
      qualysWindowMs: conditions.qualysWindowMs,
      callsPerRound: 3,
      batchMaxPairs: spec.batchMaxPairs,
      pairsPerTarget:
        estate.targets.reduce((total, target) => total + target.connectors.length, 0) / spec.targets,
      concurrency: spec.concurrency,
      propagationMs: conditions.propagationMs,
      batchWindowMs: spec.batchWindowMs,
      // Token, addPassword, the readiness token, update, sync, list.
      criticalPathCalls: 6,
      latencyMs: conditions.latencyMs,
    });
    const perMinute = seconds > 0 ? (rotated / seconds) * 60 : 0;
    const workerCpuSeconds = cpuAfterRotations - cpuAtStart;
    return {
      name: spec.name,
      targets: spec.targets,
      rotated,
      deadLettered,
      seconds,
      perMinute,
      bounds,
      ratioToBound: perMinute / bounds.perMinute,
      calls: { qualys, graph, graphBatchedRequests, entraTokens },
      perTarget: {
        qualys: sum(qualys) / Math.max(1, rotated),
        graph: sum(graph) / Math.max(1, rotated),
        entraTokens: entraTokens / Math.max(1, rotated),
      },
      qualysMaxCallsPerWindow,
      workerCpuSeconds,
      cpuSecondsPer1000: (workerCpuSeconds / Math.max(1, rotated)) * 1000,
      peakRssMb: (stats?.peakRssBytes ?? 0) / 1024 / 1024,
      idleRssMb: idleRssBytes / 1024 / 1024,
      memoryLimit: cgroup?.description ?? 'no memory limit',
      sweep: {
        ms: sweepMs,
        upstreamCalls: sweepCalls,
        byEndpoint: sweepEndpoints,
        cpuSeconds: cpuAfterSweep - cpuAfterRotations,
      },
    };
  } finally {
    if (worker !== undefined && worker.exitCode === null) {
      const exited = new Promise((resolve) => worker?.once('exit', resolve));
      worker.kill('SIGTERM');
      await exited;
    }
    for (const group of cgroups.splice(0)) group?.remove();
    redis.disconnect();
    await estate?.close();
    await redisServer.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
