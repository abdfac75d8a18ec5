import type { Command } from 'commander';
import { targetStatuses, type TargetStatus } from '../queue/operations.ts';
import { openQueues } from '../queue/rotation-queue.ts';
import { ExitCode } from './exit-codes.ts';
import type { CliIo } from './io.ts';
import { withRuntime } from './with-runtime.ts';

interface StatusOptions {
  config?: string;
  app?: string[];
  json?: boolean;
}

export function registerStatusCommand(program: Command, io: CliIo): void {
  program
    .command('status')
    .description('where every target stands: keys, last result, next due time, queued job, dead letters')
    .option('-c, --config <file>', 'configuration file (default: $ROTATOR_CONFIG)')
    .option('--app <appId...>', 'only these apps (appId or target name)')
    .option('--json', 'print the result as JSON')
    .action(async (options: StatusOptions) => {
      const code = await withRuntime(io, options.config, async (runtime) => {
        const queues = openQueues(runtime.redis, runtime.config.redis.keyPrefix);
        try {
          const statuses = await targetStatuses(
            runtime.ledger,
            queues,
            runtime.config,
            options.app === undefined ? { all: true } : { apps: options.app },
          );
          io.out(
            options.json === true ? JSON.stringify({ targets: statuses }, null, 2) : renderTable(statuses),
          );
          return ExitCode.ok;
        } finally {
          await queues.close();
        }
      });
      io.exit(code);
    });
}

const HEADERS = [
  'TARGET',
  'APP ID',
  'LAST RESULT',
  'CURRENT KEY',
  'EXPIRES',
  'NEXT DUE',
  'JOB',
  'DLQ',
] as const;

/** One aligned line per target, and under it what an operator reads next: connectors, failures, retirements. */
function renderTable(statuses: readonly TargetStatus[]): string {
  if (statuses.length === 0) return 'no targets configured';
  const rows = statuses.map((status) => [
    status.name,
    status.appId,
    status.lastResult
      ? `${status.lastResult.outcome} ${status.lastResult.at}`
      : status.adopted
        ? 'checked'
        : 'never run',
    status.currentKeyId ?? '-',
    status.currentKeyExpiresAt ?? '-',
    status.nextDueAt ?? '-',
    status.job.state,
    String(status.deadLetters),
  ]);
  const widths = HEADERS.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  const out = [line(HEADERS)];
  statuses.forEach((status, index) => {
    out.push(line(rows[index] ?? []), ...details(status).map((detail) => `    ${detail}`));
  });
  return out.join('\n');
}

function details(status: TargetStatus): string[] {
  const lines = [
    `tenant ${status.tenant.name ?? status.tenant.id}${status.tenant.name ? ` (${status.tenant.id})` : ''}`,
  ];
  for (const connector of status.connectors) {
    const key = connector.keyId ?? 'no key pushed by the rotator yet';
    const verified = connector.verifiedAt ? `, verified ${connector.verifiedAt}` : ', not verified';
    const mayHold = connector.mayHold.length > 0 ? `, may hold ${connector.mayHold.join(', ')}` : '';
    lines.push(`connector ${connector.connectorId}: key ${key}${connector.keyId ? verified : ''}${mayHold}`);
  }
  const last = status.lastResult;
  if (last !== undefined && last.outcome !== 'rotated')
    lines.push(
      `last result: ${last.outcome} at ${last.at}${last.step ? `, step ${last.step}` : ''}${last.errorCode ? `: ${last.errorCode}` : ''}${last.message ? `: ${last.message}` : ''}`,
    );
  lines.push(`last success: ${status.lastSuccessAt ?? 'never'}`);
  for (const entry of status.pendingRetirements)
    lines.push(`retires key ${entry.keyId} after ${entry.notBefore}`);
  if (status.inFlight)
    lines.push(
      `rotation ${status.inFlight.rotationId} in flight since ${status.inFlight.startedAt} (at ${status.inFlight.step})`,
    );
  if (status.rotateAgain) lines.push('the next run rotates again: a push was not confirmed');
  if (status.job.state !== 'none') {
    const job = status.job;
    lines.push(
      `job ${job.state}${job.origin ? ` (${job.origin}${job.forced === true ? ', forced' : ''})` : ''}${job.attemptsMade ? `, ${job.attemptsMade} attempt(s) made` : ''}${job.lastError ? `, last error: ${job.lastError}` : ''}`,
    );
  }
  if (status.deadLetters > 0)
    lines.push(`${status.deadLetters} dead letter(s): rotator dlq list --app ${status.appId}`);
  return lines;
}
