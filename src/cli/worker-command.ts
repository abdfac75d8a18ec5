import type { Command } from 'commander';
import { crashHookFromEnv } from '../app/runtime.ts';
import { loadConfig } from '../config/load.ts';
import { createLogger } from '../observability/logger.ts';
import { installSignalHandlers } from '../worker/signals.ts';
import { startWorker } from '../worker/worker-app.ts';
import type { CliIo } from './io.ts';

export function registerWorkerCommand(program: Command, io: CliIo): void {
  program
    .command('worker')
    .description('run the schedulers, the queue worker and the HTTP server until SIGTERM')
    .option('-c, --config <file>', 'configuration file (default: $ROTATOR_CONFIG)')
    .action(async (options: { config?: string }) => {
      const config = loadConfig({ path: options.config, env: io.env });
      const logger = createLogger({ level: config.logging.level });
      const afterStep = crashHookFromEnv(io.env);
      // Handlers first: a signal during start-up waits for the start, then stops cleanly; one that
      // comes while the start waits for Redis (which it does for as long as Redis is away) ends the wait.
      const startup = new AbortController();
      const starting = startWorker(config, logger, {
        ...(afterStep ? { afterStep } : {}),
        startupSignal: startup.signal,
      });
      const startedOrStopped = starting.catch((error: unknown) => {
        if (startup.signal.aborted) return undefined;
        throw error;
      });
      installSignalHandlers(async () => {
        startup.abort();
        await (await startedOrStopped)?.stop();
      }, logger);
      await startedOrStopped;
      // The process now lives on its server, worker and timers until a signal stops it.
    });
}
