import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import { serializeError } from './error-serializer.ts';
import { REDACTED, REDACT_PATHS } from './redaction.ts';

export type { Logger } from 'pino';

/** What a log line says about the work in progress; every field is optional. */
export interface LogContext {
  readonly rotationId?: string;
  readonly appId?: string;
  readonly tenantId?: string;
  readonly connectorId?: string;
  readonly step?: string;
  readonly component?: string;
}

export interface LoggerOptions {
  readonly level?: LevelWithSilent;
  /** Where lines go; stdout by default. Tests pass a capturing stream. */
  readonly destination?: DestinationStream;
  readonly name?: string;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      name: options.name ?? 'rotator',
      level: options.level ?? 'info',
      redact: { paths: [...REDACT_PATHS], censor: REDACTED },
      serializers: { err: serializeError, error: serializeError },
      base: { service: 'qualys-azure-secret-rotator' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
}

/** A child logger that carries the rotation's identity on every line it writes. */
export function withContext(logger: Logger, context: LogContext): Logger {
  return logger.child(context);
}
