import { pino } from 'pino';
import { createRuntime, crashHookFromEnv, type Runtime } from '../app/runtime.ts';
import { loadConfig } from '../config/load.ts';
import { checkRedis } from '../ledger/redis-connection.ts';
import { createLogger } from '../observability/logger.ts';
import type { CliIo } from './io.ts';

/**
 * Loads the configuration, wires the runtime, runs `work`, and closes everything. Logs go to stderr so
 * that stdout carries only the command's result.
 */
export async function withRuntime<T>(
  io: CliIo,
  configPath: string | undefined,
  work: (runtime: Runtime) => Promise<T>,
): Promise<T> {
  const config = loadConfig({ path: configPath, env: io.env });
  const logger = createLogger({
    level: config.logging.level,
    destination: pino.destination({ dest: 2, sync: true }),
  });
  const afterStep = crashHookFromEnv(io.env);
  // A command fails fast when Redis is away, instead of queueing forever as a worker would.
  const runtime = createRuntime(config, logger, {
    redisPurpose: 'producer',
    ...(afterStep ? { afterStep } : {}),
  });
  try {
    const check = await checkRedis(runtime.redis);
    for (const warning of check.warnings) logger.warn({ redisVersion: check.version }, warning);
    return await work(runtime);
  } finally {
    await runtime.close();
  }
}

/** Runs `work` over `items`, at most `limit` at a time, keeping the order of results. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  });
  await Promise.all(lanes);
  return results;
}
