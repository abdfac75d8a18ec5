import type { Logger } from 'pino';

/**
 * First SIGTERM or SIGINT: graceful stop, then exit 0. A second one: exit at once (the checkpoints make
 * that safe, if not tidy).
 */
export function installSignalHandlers(
  stop: () => Promise<unknown>,
  logger: Logger,
  exit: (code: number) => void = (code) => process.exit(code),
): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      exit(1);
      return;
    }
    stopping = true;
    logger.info({ signal }, 'signal received: shutting down');
    stop().then(
      () => exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
