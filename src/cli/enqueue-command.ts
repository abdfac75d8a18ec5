import type { Command } from 'commander';
import { formatDurationMs, parseDurationMs } from '../config/duration.ts';
import { isRotatorError } from '../errors/rotator-error.ts';
import {
  enqueueTargets,
  markRotationEvents,
  resolveTargets,
  waitForRotations,
  type EnqueuedTarget,
  type TargetSelection,
  type WaitOutcome,
} from '../queue/operations.ts';
import { openQueues } from '../queue/rotation-queue.ts';
import type { RotationPlan } from '../rotation/dry-run.ts';
import { ExitCode } from './exit-codes.ts';
import type { CliIo } from './io.ts';
import { UsageError } from './rotate-command.ts';
import { mapLimit, withRuntime } from './with-runtime.ts';

/** Plans computed at once for --dry-run, as `rotate --dry-run` does. */
const CONCURRENCY = 16;

/** Beyond Entra's readiness wait, a rotation's pushes, sync and verification take a few minutes at most. */
const WAIT_MARGIN_MS = 5 * 60_000;

interface EnqueueOptions {
  config?: string;
  app?: string[];
  connector?: string[];
  all?: boolean;
  force?: boolean;
  dryRun?: boolean;
  wait?: boolean;
  timeout?: string;
  json?: boolean;
}

type PlanOutcome =
  | { appId: string; name: string; plan: RotationPlan }
  | { appId: string; name: string; error: { code: string; kind: string; message: string } };

export function registerEnqueueCommand(program: Command, io: CliIo): void {
  program
    .command('enqueue')
    .description('queue rotations for the worker: the given apps, the apps of the given connectors, or all')
    .option('-c, --config <file>', 'configuration file (default: $ROTATOR_CONFIG)')
    .option('--app <appId...>', 'these apps (appId or target name)')
    .option('--connector <uuid...>', 'every app that serves one of these connectors')
    .option('--all', 'every configured app')
    .option('--force', 'rotate even when not due')
    .option('--dry-run', 'show what each rotation would do now, queue nothing')
    .option(
      '--wait',
      'wait for the rotations to finish and print their outcomes (exit 1 if one did not rotate)',
    )
    .option('--timeout <duration>', 'with --wait: how long to wait (default: azure.readinessTimeout + 5m)')
    .option('--json', 'print the result as JSON')
    .action(async (options: EnqueueOptions) => {
      const selection = selectionOf(options);
      const timeoutText = options.timeout;
      const timeoutMs = timeoutText === undefined ? undefined : parseDurationMs(timeoutText);
      if (timeoutText !== undefined && options.wait !== true) throw new UsageError('--timeout needs --wait');
      if (timeoutText !== undefined && (timeoutMs === undefined || timeoutMs === 0))
        throw new UsageError(`--timeout must be a duration such as 30s, 10m or 1h, not "${timeoutText}"`);
      if (options.dryRun === true && options.wait === true)
        throw new UsageError('--wait and --dry-run exclude each other: a dry run queues nothing');

      const code = await withRuntime(io, options.config, async (runtime) => {
        const { config } = runtime;
        const force = options.force === true;
        if (options.dryRun === true) {
          const targets = resolveTargets(config, selection);
          const listing = await runtime.qualys.listSecondaryApplications();
          const plans = await mapLimit(targets, CONCURRENCY, async (target): Promise<PlanOutcome> => {
            const base = { appId: target.appId, name: target.name };
            try {
              return { ...base, plan: await runtime.engine.plan(target, { forced: force, listing }) };
            } catch (error) {
              if (!isRotatorError(error)) throw error;
              return { ...base, error: { code: error.code, kind: error.kind, message: error.message } };
            }
          });
          io.out(
            options.json === true
              ? JSON.stringify({ dryRun: true, plans }, null, 2)
              : [...plans.map(describePlan), 'dry run: nothing was queued'].join('\n'),
          );
          return plans.some((outcome) => 'error' in outcome) ? ExitCode.failure : ExitCode.ok;
        }

        const queues = openQueues(runtime.redis, config.redis.keyPrefix);
        try {
          // Taken before enqueueing, so the wait also sees jobs that finish before it starts.
          const mark = options.wait === true ? await markRotationEvents(queues.rotation) : undefined;
          const enqueued = await enqueueTargets(queues, config, selection, force);
          if ((await workerCount(queues.rotation)) === 0)
            io.err('rotator: warning: no worker is connected to the queue; the jobs wait until one starts');
          if (options.wait !== true) {
            io.out(
              options.json === true
                ? JSON.stringify({ enqueued }, null, 2)
                : enqueued.map(describeEnqueued).join('\n'),
            );
            return ExitCode.ok;
          }
          const limitMs = timeoutMs ?? config.azure.readinessTimeoutMs + WAIT_MARGIN_MS;
          if (options.json !== true) {
            io.out(enqueued.map(describeEnqueued).join('\n'));
            io.out(`waiting up to ${formatDurationMs(limitMs)} for ${enqueued.length} rotation(s)...`);
          }
          const outcomes = await waitForRotations(
            queues.rotation,
            enqueued.map((entry) => entry.appId),
            limitMs,
            {
              since: mark,
              newlyQueued: enqueued.filter((entry) => entry.state === 'queued').map((entry) => entry.appId),
            },
          );
          const names = new Map(enqueued.map((entry) => [entry.appId, entry.name]));
          io.out(
            options.json === true
              ? JSON.stringify({ enqueued, outcomes }, null, 2)
              : outcomes.map((outcome) => describeOutcome(outcome, names.get(outcome.appId))).join('\n'),
          );
          return outcomes.every((outcome) => outcome.status === 'rotated' || outcome.status === 'skipped')
            ? ExitCode.ok
            : ExitCode.failure;
        } finally {
          await queues.close();
        }
      });
      io.exit(code);
    });
}

function selectionOf(options: EnqueueOptions): TargetSelection {
  const given = [
    options.app !== undefined ? '--app' : undefined,
    options.connector !== undefined ? '--connector' : undefined,
    options.all === true ? '--all' : undefined,
  ].filter((flag) => flag !== undefined);
  if (given.length !== 1)
    throw new UsageError(
      given.length === 0
        ? 'say which targets to queue: --app <id...>, --connector <uuid...> or --all'
        : `give only one of --app, --connector and --all (got ${given.join(', ')})`,
    );
  return { apps: options.app, connectors: options.connector, all: options.all };
}

/** 0 when no worker listens; `undefined` when the server does not let us ask (CLIENT LIST refused). */
async function workerCount(queue: { getWorkersCount(): Promise<number> }): Promise<number | undefined> {
  try {
    return await queue.getWorkersCount();
  } catch {
    return undefined;
  }
}

function describeEnqueued(entry: EnqueuedTarget): string {
  const state =
    entry.state === 'queued'
      ? 'queued'
      : entry.state === 'already-queued'
        ? 'already queued (this request joins the waiting job)'
        : 'running now (this request is dropped; the running rotation continues)';
  return `${entry.name} (${entry.appId}): ${state}`;
}

function describeOutcome(outcome: WaitOutcome, name: string | undefined): string {
  const head = `${name ?? outcome.appId} (${outcome.appId})`;
  const result = outcome.result;
  switch (outcome.status) {
    case 'rotated':
    case 'partial':
    case 'failed':
      return result === undefined
        ? `${head}: ${outcome.status}${outcome.message ? `: ${outcome.message}` : ''}`
        : `${head}: ${result.outcome}: key ${result.keyId ?? 'none'}; connectors verified ${result.verified}, failed ${result.failed}; retired ${result.retired}${result.deadLetters > 0 ? `; ${result.deadLetters} dead letter(s): see rotator dlq list --app ${outcome.appId}` : ''}`;
    case 'skipped':
      return `${head}: not rotated${outcome.message ? ` (${outcome.message})` : ' (not due)'}`;
    case 'errored':
      return `${head}: FAILED: ${outcome.message ?? 'unknown error'}; see rotator dlq list --app ${outcome.appId}`;
    case 'timed-out': {
      const pending = outcome.pending;
      const detail = pending
        ? `; ${pending.attemptsMade} attempt(s) made${pending.lastError ? `, last error: ${pending.lastError}` : ''}`
        : '';
      return `${head}: TIMED OUT: ${outcome.message ?? ''}${detail}`;
    }
    case 'removed':
    case 'not-queued':
      return `${head}: ${outcome.status.toUpperCase()}: ${outcome.message ?? ''}`;
  }
}

function describePlan(outcome: PlanOutcome): string {
  const head = `${outcome.name} (${outcome.appId})`;
  if ('error' in outcome) return `${head}: cannot plan: ${outcome.error.code}: ${outcome.error.message}`;
  const plan = outcome.plan;
  if (!plan.due) return `${head}: not due until ${plan.nextDueAt}`;
  const later = plan.retireLater.map((entry) => `${entry.keyId} at ${entry.notBefore}`).join(', ') || 'none';
  return (
    `${head}: would rotate (${plan.reasons.join('; ')}): new key until ${plan.create?.endDateTime ?? '?'}, ` +
    `update ${plan.update.length}, register ${plan.register.length}, retire now ${plan.retireNow.length}, ` +
    `later ${later}${plan.retireBlockedBy ? ` (retirement blocked: ${plan.retireBlockedBy})` : ''}`
  );
}
