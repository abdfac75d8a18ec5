import { Worker } from 'bullmq';
import type { Logger } from 'pino';
import { createRuntime, type Runtime, type RuntimeOptions } from '../app/runtime.ts';
import type { RotatorConfig } from '../config/types.ts';
import { createAdminApi } from '../http/admin-api.ts';
import { startHealthServer, type HealthServer } from '../http/health-server.ts';
import { checkRedis } from '../ledger/redis-connection.ts';
import { isRedisConnectionError, watchRedis } from '../ledger/redis-outage-log.ts';
import { RotatorMetrics } from '../observability/metrics.ts';
import { ROTATION_QUEUE } from '../queue/job-data.ts';
import { jitteredBackoff } from '../queue/jittered-backoff.ts';
import { createProcessor } from '../queue/processor.ts';
import { openQueues, type Queues } from '../queue/rotation-queue.ts';
import { reconcileSchedulers } from '../queue/schedulers.ts';
import { deadLetterStalledJob, isStallFailure } from '../queue/stalled-jobs.ts';
import { readLastSweep } from '../queue/sweep-record.ts';
import { sleep } from '../util/sleep.ts';

export interface WorkerApp {
  readonly runtime: Runtime;
  readonly queues: Queues;
  readonly worker: Worker;
  readonly http: HealthServer | undefined;
  readonly metrics: RotatorMetrics;
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
  options: RuntimeOptions & {
    http?: boolean;
    /** Aborted when the process must stop before the start finished: ends the wait for Redis. */
    startupSignal?: AbortSignal;
  } = {},
): Promise<WorkerApp> {
  const shutdown = new AbortController();
  const metrics = options.metrics ?? new RotatorMetrics();
  const runtime = createRuntime(config, logger, {
    ...options,
    metrics,
    redisPurpose: 'worker',
    shutdownSignal: shutdown.signal,
  });
  // Outages of Redis are logged once when they start and once when they end, not at every retry.
  const redisWatch = watchRedis(runtime.redis, logger.child({ component: 'redis' }));
  // BullMQ re-emits every connection error of every retry on each queue and worker (and prints it to
  // stderr when a queue has no listener): those are the outage above, so only the rest is logged.
  const onQueueError = (source: string) => (error: Error) => {
    if (isRedisConnectionError(error)) logger.debug({ err: error, source }, 'redis connection error');
    else logger.error({ err: error, source }, 'worker error');
  };
  // Filled in as start-up proceeds; /readyz reads it.
  const state: { schedulersReady: boolean; worker: Worker | undefined; stopping: boolean } = {
    schedulersReady: false,
    worker: undefined,
    stopping: false,
  };
  let http: HealthServer | undefined;
  let queues: Queues | undefined;
  const adminToken = config.http.adminToken;
  // Off unless a token is configured; until the queues are open it answers 503.
  const admin =
    adminToken === undefined
      ? undefined
      : createAdminApi(
          adminToken,
          () => (queues === undefined ? undefined : { config, ledger: runtime.ledger, queues }),
          logger.child({ component: 'admin' }),
        );
  try {
    if (options.http !== false) {
      http = await startHealthServer(config.http.host, config.http.port, {
        readiness: () =>
          Promise.resolve({
            redis: redisWatch.readiness(),
            schedulers: state.schedulersReady ? true : 'not registered yet',
            worker: state.worker?.isRunning() === true ? true : 'not running',
          }),
        metrics,
        admin,
      });
      logger.info({ url: http.url, admin: admin !== undefined }, 'http server listening');
    }
    // Redis may come after the worker (a restart of both, a failover): wait for it as long as it
    // takes, logged once by the watch above; /livez answers meanwhile and /readyz says why not.
    const check = await checkRedis(runtime.redis, {
      readyTimeoutMs: Number.POSITIVE_INFINITY,
      ...(options.startupSignal === undefined ? {} : { signal: options.startupSignal }),
    });
    for (const warning of check.warnings) logger.warn({ redisVersion: check.version }, warning);
    queues = openQueues(runtime.redis, config.redis.keyPrefix);
    const { rotation, deadLetters } = queues;
    rotation.on('error', onQueueError('rotation queue'));
    deadLetters.queue.on('error', onQueueError('dead-letter queue'));
    metrics.observe({
      targets: config.targets,
      readRecords: (appIds) => runtime.ledger.readMany(appIds),
      deadLetterCount: () => deadLetters.count(),
      queueCounts: () => rotation.getJobCounts('waiting', 'delayed', 'active'),
      lastSweepAt: () => readLastSweep(rotation),
      onCollectError: (error) => logger.warn({ err: error }, 'metrics: could not read Redis'),
    });
    const { removed } = await reconcileSchedulers(queues.rotation, config);
    state.schedulersReady = true;
    if (removed.length > 0) logger.info({ removed }, 'removed stale job schedulers');
  } catch (error) {
    // A worker that cannot start must not leave a server or connections behind.
    await http?.close();
    await queues?.close();
    redisWatch.stop();
    await runtime.close();
    throw error;
  }
  const openedQueues = queues;
  const running = new Worker(
    ROTATION_QUEUE,
    createProcessor({
      config,
      engine: runtime.engine,
      engineListing: () => runtime.qualys.listSecondaryApplications(),
      ledger: runtime.ledger,
      queue: openedQueues.rotation,
      deadLetters: openedQueues.deadLetters,
      logger: logger.child({ component: 'queue' }),
      isStopping: () => state.stopping,
      metrics,
    }),
    {
      connection: runtime.redis,
      prefix: config.redis.keyPrefix,
      concurrency: config.worker.concurrency,
      // Needed for queue.rateLimit() to pause this worker when an upstream throttles us.
      limiter: { max: 1_000_000, duration: 1_000 },
      settings: { backoffStrategy: jitteredBackoff(config.worker.backoffBaseMs, config.worker.backoffMaxMs) },
      // A job whose process died is rerun once its lock expires and the stall checker has seen it:
      // rotations are checkpointed, so that is safe. Past maxStalledCount stalls BullMQ fails the job,
      // and the 'failed' handler below dead-letters it.
      lockDuration: config.worker.lockDurationMs,
      stalledInterval: config.worker.stalledIntervalMs,
      maxStalledCount: config.worker.maxStalledCount,
    },
  );
  state.worker = running;
  running.on('error', onQueueError('worker'));
  running.on('failed', (job, error) => {
    // Failures the processor saw are handled there; this catches the one BullMQ decides alone: a job
    // whose workers kept dying (stalled more than maxStalledCount times) goes to the dead-letter queue.
    if (job === undefined || !isStallFailure(error)) return;
    const deps = { config, ledger: runtime.ledger, deadLetters: openedQueues.deadLetters, logger, metrics };
    deadLetterStalledJob(deps, job).catch((recordError: unknown) => {
      logger.error(
        { jobId: job.id, name: job.name, err: recordError },
        'a job stalled too often and could not be dead-lettered; the next sweep finds its target',
      );
    });
  });
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
    queues: openedQueues,
    worker: running,
    http,
    metrics,
    async stop() {
      const timeoutMs = config.worker.shutdownTimeoutMs;
      logger.info({ timeoutMs }, 'stopping: no new jobs; waiting for active rotations');
      state.stopping = true;
      const closing = running.close();
      let finished = await Promise.race([closing.then(() => true), sleep(timeoutMs).then(() => false)]);
      if (!finished) {
        // Out of time: active rotations stop at their next checkpoint (their readiness waits end at
        // once), and the next run finishes or undoes them.
        logger.warn('active rotations did not finish in time; stopping them at their next checkpoint');
        shutdown.abort();
        finished = await Promise.race([closing.then(() => true), sleep(ABORT_GRACE_MS).then(() => false)]);
        // BullMQ keeps the first close() pending until jobs end; cancel them instead of waiting again.
        if (!finished) running.cancelAllJobs('the worker is stopping');
      }
      await http?.close();
      await openedQueues.close();
      redisWatch.stop();
      await runtime.close();
      logger.info({ forced: shutdown.signal.aborted }, 'stopped');
      return { forced: shutdown.signal.aborted };
    },
  };
}

/** After the abort, how long active rotations get to reach their next checkpoint. */
const ABORT_GRACE_MS = 3_000;
