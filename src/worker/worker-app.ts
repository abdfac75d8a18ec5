import { Worker } from 'bullmq';
import type { Logger } from 'pino';
import { createRuntime, type Runtime, type RuntimeOptions } from '../app/runtime.ts';
import type { RotatorConfig } from '../config/types.ts';
import { startHealthServer, type HealthServer } from '../http/health-server.ts';
import { checkRedis } from '../ledger/redis-connection.ts';
import { ROTATION_QUEUE } from '../queue/job-data.ts';
import { jitteredBackoff } from '../queue/jittered-backoff.ts';
import { createProcessor } from '../queue/processor.ts';
import { openQueues, type Queues } from '../queue/rotation-queue.ts';
import { reconcileSchedulers } from '../queue/schedulers.ts';
import { sleep } from '../util/sleep.ts';

export interface WorkerApp {
  readonly runtime: Runtime;
  readonly queues: Queues;
  readonly worker: Worker;
  readonly http: HealthServer | undefined;
  /** Stops taking jobs, gives active ones `shutdownTimeoutMs` to finish, then closes everything. */
  stop(): Promise<{ forced: boolean }>;
}

/**
 * `rotator worker`: the schedulers, the queue worker and the HTTP server, wired from the configuration.
 * Every replica runs the same; Redis decides who does what.
 */
export async function startWorker(
  config: RotatorConfig,
  logger: Logger,
  options: RuntimeOptions & { http?: boolean } = {},
): Promise<WorkerApp> {
  const runtime = createRuntime(config, logger, { ...options, redisPurpose: 'worker' });
  // Filled in as start-up proceeds; /readyz reads it.
  const state: { schedulersReady: boolean; worker: Worker | undefined } = {
    schedulersReady: false,
    worker: undefined,
  };
  let http: HealthServer | undefined;
  if (options.http !== false) {
    http = await startHealthServer(config.http.host, config.http.port, {
      readiness: () =>
        Promise.resolve({
          redis: runtime.redis.status === 'ready' ? true : `redis is ${runtime.redis.status}`,
          schedulers: state.schedulersReady ? true : 'not registered yet',
          worker: state.worker?.isRunning() === true ? true : 'not running',
        }),
    });

    logger.info({ url: http.url }, 'http server listening');
  }
  const check = await checkRedis(runtime.redis, { readyTimeoutMs: 60_000 });
  for (const warning of check.warnings) logger.warn({ redisVersion: check.version }, warning);
  const queues = openQueues(runtime.redis, config.redis.keyPrefix);
  const { removed } = await reconcileSchedulers(queues.rotation, config);
  state.schedulersReady = true;
  if (removed.length > 0) logger.info({ removed }, 'removed stale job schedulers');
  const running = new Worker(
    ROTATION_QUEUE,
    createProcessor({
      config,
      engine: runtime.engine,
      ledger: runtime.ledger,
      queue: queues.rotation,
      deadLetters: queues.deadLetters,
      logger: logger.child({ component: 'queue' }),
    }),
    {
      connection: runtime.redis,
      prefix: config.redis.keyPrefix,
      concurrency: config.worker.concurrency,
      // Needed for queue.rateLimit() to pause this worker when an upstream throttles us.
      limiter: { max: 1_000_000, duration: 1_000 },
      settings: { backoffStrategy: jitteredBackoff(config.worker.backoffBaseMs, config.worker.backoffMaxMs) },
    },
  );
  state.worker = running;
  running.on('error', (error) => logger.error({ err: error }, 'worker error'));
  logger.info(
    {
      concurrency: config.worker.concurrency,
      targets: config.targets.length,
      schedule: config.rotation.schedule,
      timeZone: config.rotation.timeZone,
    },
    'worker started',
  );
  return {
    runtime,
    queues,
    worker: running,
    http,
    async stop() {
      const timeoutMs = config.worker.shutdownTimeoutMs;
      logger.info({ timeoutMs }, 'stopping: no new jobs; waiting for active rotations');
      const closing = running.close();
      const finished = await Promise.race([closing.then(() => true), sleep(timeoutMs).then(() => false)]);
      if (!finished) {
        // Active rotations stop mid-way; their checkpoints let the next run finish or undo them.
        logger.warn('active rotations did not finish in time; stopping them at their last checkpoint');
        await running.close(true);
      }
      await http?.close();
      await queues.close();
      await runtime.close();
      logger.info({ forced: !finished }, 'stopped');
      return { forced: !finished };
    },
  };
}
