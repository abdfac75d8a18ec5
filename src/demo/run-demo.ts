import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createLogger } from '../observability/logger.ts';
import { enqueueTargets, markRotationEvents, waitForRotations } from '../queue/operations.ts';
import { startWorker, type WorkerApp } from '../worker/worker-app.ts';
import { writeDemoConfig } from './demo-config.ts';
import { startDemoEstate, type DemoEstate } from './estate.ts';
import { startRedisServer, type RedisServerHandle } from './redis-server.ts';
import { judge, summaryLines } from './summary.ts';

export interface DemoOptions {
  readonly certDir: string;
  readonly keep: boolean;
  readonly logLevel: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  out(text: string): void;
}

/** Far more than the demo needs (a few seconds); only a stuck rotation reaches it. */
const WAIT_TIMEOUT_MS = 60_000;

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

/**
 * The demo proper, in a process that already trusts the simulators' certificate: Redis, the
 * simulators, the worker, one rotation of every target, the summary. Returns the exit code.
 */
export async function runDemo(options: DemoOptions): Promise<number> {
  const started = Date.now();
  const [cert, key] = await Promise.all([
    readFile(join(options.certDir, 'cert.pem'), 'utf8'),
    readFile(join(options.certDir, 'key.pem'), 'utf8'),
  ]);
  const redisUrl = options.env.REDIS_URL;
  let redis: RedisServerHandle | undefined;
  let estate: DemoEstate | undefined;
  let worker: WorkerApp | undefined;
  const dir = await mkdtemp(join(tmpdir(), 'rotator-demo-'));
  try {
    redis = redisUrl === undefined || redisUrl === '' ? await startRedisServer() : undefined;
    estate = await startDemoEstate({ cert, key });
    // With --keep, the admin API and the dashboard come up when the operator chose a token for them;
    // the demo never makes one up and prints it.
    const adminToken = options.keep ? options.env.ROTATOR_DEMO_ADMIN_TOKEN : undefined;
    const adminTokenFile = adminToken ? join(dir, 'admin-token') : undefined;
    if (adminToken && adminTokenFile) await writeFile(adminTokenFile, adminToken, { mode: 0o600 });
    const { config } = await writeDemoConfig(estate, {
      adminTokenFile,
      dir,
      redisUrl: redis?.url ?? redisUrl ?? '',
      logLevel: options.logLevel,
      httpPort: 0,
    });
    options.out(
      `Redis ${redis ? `started at ${redis.url}` : 'from REDIS_URL'}; simulators: Entra ${estate.entra.authorityHost}, Graph ${estate.entra.graphEndpoint}, Qualys ${estate.qualys.url}`,
    );
    // Logs go to stderr, so stdout is the summary alone.
    const logger = createLogger({
      level: config.logging.level,
      destination: pino.destination({ dest: 2, sync: true }),
    });
    worker = await startWorker(config, logger, { http: options.keep });
    const mark = await markRotationEvents(worker.queues.rotation);
    const enqueued = await enqueueTargets(worker.queues, config, { all: true }, false);
    const outcomes = await waitForRotations(
      worker.queues.rotation,
      enqueued.map((target) => target.appId),
      WAIT_TIMEOUT_MS,
      {
        since: mark,
        newlyQueued: enqueued.filter((target) => target.state === 'queued').map((target) => target.appId),
      },
    );
    const results = {
      outcomes,
      deadLetters: await worker.queues.deadLetters.list(),
      calls: worker.runtime.calls,
      elapsedMs: Date.now() - started,
    };
    const verdict = judge(estate, results);
    for (const line of summaryLines(estate, results, verdict)) options.out(line);
    if (options.keep && worker.http !== undefined) {
      options.out('');
      options.out(`Worker HTTP server: ${worker.http.url} (/livez, /readyz, /metrics); Ctrl-C to stop.`);
      options.out(
        adminTokenFile
          ? `Admin API ${worker.http.url}/admin/ and queue dashboard ${worker.http.url}/admin/queues (send "Authorization: Bearer $ROTATOR_DEMO_ADMIN_TOKEN").`
          : 'Admin API and queue dashboard: off; set ROTATOR_DEMO_ADMIN_TOKEN to a token of your choice to turn them on.',
      );
      await untilSignal();
    }
    return verdict.ok ? 0 : 1;
  } finally {
    await worker?.stop();
    await estate?.close();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
