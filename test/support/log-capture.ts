import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/observability/logger.ts';

/** A logger whose lines are kept in memory, so a test can read them and scan them for secrets. */
export interface CapturedLogger {
  readonly logger: Logger;
  readonly lines: string[];
  records(): Record<string, unknown>[];
}

export function captureLogger(level: 'trace' | 'debug' | 'info' = 'trace'): CapturedLogger {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(line);
      callback();
    },
  });
  const logger = createLogger({ level, destination: stream });
  return {
    logger,
    lines,
    records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
