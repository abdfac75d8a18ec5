import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Cluster, Redis } from 'ioredis';
import { ApplicationDirectory } from '../azure/application-directory.ts';
import type { AzureRequestEvent } from '../azure/types.ts';
import type { RotatorConfig } from '../config/types.ts';
import type { RotatorMetrics } from '../observability/metrics.ts';
import { createRedis } from '../ledger/redis-connection.ts';
import { RedisLedger } from '../ledger/redis-ledger.ts';
import { QualysCallBudget } from '../qualys/call-budget.ts';
import { createQualysClient } from '../qualys/create-client.ts';
import type { QualysConnectorClient } from '../qualys/connector-api-client.ts';
import type { QualysOperation } from '../qualys/types.ts';
import { PushCoordinator } from '../rotation/push-coordinator.ts';
import { RotationEngine, type HookPoint } from '../rotation/rotation-engine.ts';

/** Counts of upstream calls made by this process, for summaries and benchmarks. */
export interface UpstreamCalls {
  qualys: Partial<Record<QualysOperation, number>>;
  graph: number;
  entraProbes: number;
}

/** Everything wired from the configuration: the composition root of the rotator. */
export interface Runtime {
  readonly config: RotatorConfig;
  readonly logger: Logger;
  readonly redis: Redis | Cluster;
  readonly ledger: RedisLedger;
  readonly directory: ApplicationDirectory;
  readonly qualys: QualysConnectorClient;
  readonly engine: RotationEngine;
  readonly calls: UpstreamCalls;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** Test-only: called after each engine checkpoint. */
  readonly afterStep?: (point: HookPoint, appId: string) => void | Promise<void>;
  readonly redisPurpose?: 'worker' | 'producer';
  /** Aborted when the worker must stop: rotations stop at their next checkpoint. */
  readonly shutdownSignal?: AbortSignal;
  /** Counts every upstream request by service and status. */
  readonly metrics?: RotatorMetrics;
}

export function createRuntime(config: RotatorConfig, logger: Logger, options: RuntimeOptions = {}): Runtime {
  const calls: UpstreamCalls = { qualys: {}, graph: 0, entraProbes: 0 };
  const redis = createRedis(config.redis, options.redisPurpose ?? 'worker');
  const ledger = new RedisLedger(redis, { keyPrefix: config.redis.keyPrefix });
  const directory = new ApplicationDirectory({
    azure: config.azure,
    logger: logger.child({ component: 'azure' }),
    onRequest: (event: AzureRequestEvent) => {
      if (event.service === 'graph') calls.graph += 1;
      else calls.entraProbes += 1;
      options.metrics?.recordUpstream(event.service, event.status);
    },
  });
  const budget = config.qualys.callBudget
    ? new QualysCallBudget(redis, config.redis.keyPrefix, config.qualys.callBudget)
    : undefined;
  const qualys = createQualysClient(config.qualys, logger, {
    onRequest: ({ operation, status }) => {
      calls.qualys[operation] = (calls.qualys[operation] ?? 0) + 1;
      options.metrics?.recordUpstream('qualys', status);
    },
    ...(budget ? { beforeRequest: (operation: QualysOperation) => budget.take(operation) } : {}),
  });
  const policy = config.rotation;
  const coordinator = new PushCoordinator(qualys, {
    windowMs: policy.batchWindowMs,
    maxPairs: policy.batchMaxPairs,
    verifyAttempts: policy.verifyAttempts,
    verifyDelayMs: policy.verifyDelayMs,
  });
  const engine = new RotationEngine({
    directory,
    connectorApi: qualys,
    coordinator,
    ledger,
    clock: { now: () => Date.now() },
    policy,
    readinessTimeoutMs: config.azure.readinessTimeoutMs,
    logger: logger.child({ component: 'engine' }),
    owner: `${hostname()}:${process.pid}`,
    lockTtlMs: policy.lockTtlMs,
    ...(options.afterStep ? { afterStep: options.afterStep } : {}),
    ...(options.metrics
      ? {
          onStepTimed: (step: string, durationMs: number) =>
            options.metrics?.observeStep(step, durationMs / 1000),
        }
      : {}),
    ...(options.shutdownSignal ? { shutdownSignal: options.shutdownSignal } : {}),
  });
  return {
    config,
    logger,
    redis,
    ledger,
    directory,
    qualys,
    engine,
    calls,
    async close() {
      await qualys.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/**
 * The crash-safety tests stop the process at a checkpoint: `ROTATOR_TEST_HOOKS=1` with
 * `ROTATOR_TEST_CRASH_AT=<point>` (and optionally `ROTATOR_TEST_CRASH_APP=<appId>`) sends SIGKILL to
 * this process there. Both variables are needed, so a stray one in production does nothing.
 */
export function crashHookFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): RuntimeOptions['afterStep'] {
  if (env.ROTATOR_TEST_HOOKS !== '1' || env.ROTATOR_TEST_CRASH_AT === undefined) return undefined;
  const point = env.ROTATOR_TEST_CRASH_AT;
  const app = env.ROTATOR_TEST_CRASH_APP;
  return (reached, appId) => {
    if (reached === point && (app === undefined || app === appId)) process.kill(process.pid, 'SIGKILL');
  };
}
