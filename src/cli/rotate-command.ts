import type { Command } from 'commander';
import type { TargetConfig } from '../config/types.ts';
import { isRotatorError } from '../errors/rotator-error.ts';
import type { RotationPlan } from '../rotation/dry-run.ts';
import type { RotationReport } from '../rotation/report.ts';
import { RotationFailedError } from '../rotation/rotation-failed-error.ts';
import { ExitCode } from './exit-codes.ts';
import type { CliIo } from './io.ts';
import { mapLimit, withRuntime } from './with-runtime.ts';

/** Targets rotated at once: enough for pushes to share Qualys calls, few enough for Graph. */
const CONCURRENCY = 16;

interface RotateOptions {
  config?: string;
  app?: string[];
  force?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

type Outcome =
  | { appId: string; name: string; report: RotationReport }
  | { appId: string; name: string; plan: RotationPlan }
  | { appId: string; name: string; error: { code: string; kind: string; step?: string; message: string } };

export function registerRotateCommand(program: Command, io: CliIo): void {
  program
    .command('rotate')
    .description('rotate now, in this process, every target that is due (or the given apps); no queue needed')
    .option('-c, --config <file>', 'configuration file (default: $ROTATOR_CONFIG)')
    .option('--app <appId...>', 'only these apps (appId or target name)')
    .option('--force', 'rotate even when not due')
    .option('--dry-run', 'show what would happen, change nothing')
    .option('--json', 'print the result as JSON')
    .action(async (options: RotateOptions) => {
      const code = await withRuntime(io, options.config, async (runtime) => {
        const targets = selectTargets(runtime.config.targets, options.app);
        const listing = await runtime.qualys.listSecondaryApplications();
        const outcomes = await mapLimit(targets, CONCURRENCY, async (target): Promise<Outcome> => {
          const base = { appId: target.appId, name: target.name };
          try {
            if (options.dryRun === true)
              return {
                ...base,
                plan: await runtime.engine.plan(target, { forced: options.force ?? false, listing }),
              };
            return {
              ...base,
              report: await runtime.engine.rotate(target, { forced: options.force ?? false, listing }),
            };
          } catch (error) {
            if (!isRotatorError(error)) throw error;
            return {
              ...base,
              error: {
                code: error.code,
                kind: error.kind,
                ...(error instanceof RotationFailedError ? { step: error.deadLetter.step } : {}),
                message: error.message,
              },
            };
          }
        });
        io.out(
          options.json === true
            ? JSON.stringify({ outcomes, upstreamCalls: runtime.calls }, null, 2)
            : summarize(outcomes, runtime.calls),
        );
        const failed = outcomes.some(
          (outcome) =>
            'error' in outcome ||
            ('report' in outcome &&
              (outcome.report.outcome === 'failed' || outcome.report.outcome === 'partial')),
        );
        return failed ? ExitCode.failure : ExitCode.ok;
      });
      io.exit(code);
    });
}

export function selectTargets(
  targets: readonly TargetConfig[],
  wanted: readonly string[] | undefined,
): TargetConfig[] {
  if (wanted === undefined || wanted.length === 0) return [...targets];
  const keys = new Set(wanted.map((value) => value.toLowerCase()));
  const selected = targets.filter((target) => keys.has(target.appId) || keys.has(target.name.toLowerCase()));
  const unknown = [...keys].filter(
    (key) => !selected.some((target) => target.appId === key || target.name.toLowerCase() === key),
  );
  if (unknown.length > 0) throw new UsageError(`--app names no configured target: ${unknown.join(', ')}`);
  return selected;
}

export class UsageError extends Error {}

function summarize(outcomes: readonly Outcome[], calls: object): string {
  const lines = outcomes.map((outcome) => {
    const head = `${outcome.name} (${outcome.appId})`;
    if ('error' in outcome)
      return `${head}: FAILED at ${outcome.error.step ?? '?'}: ${outcome.error.code}: ${outcome.error.message}`;
    if ('plan' in outcome) {
      const plan = outcome.plan;
      if (!plan.due) return `${head}: not due until ${plan.nextDueAt}`;
      return `${head}: would rotate (${plan.reasons.join('; ')}): new key until ${plan.create?.endDateTime ?? '?'}, update ${plan.update.length}, register ${plan.register.length}, retire now ${plan.retireNow.length}, later ${plan.retireLater.map((entry) => `${entry.keyId} at ${entry.notBefore}`).join(', ') || 'none'}${plan.retireBlockedBy ? ` (retirement blocked: ${plan.retireBlockedBy})` : ''}`;
    }
    const report = outcome.report;
    const connectors = Object.values(report.connectors);
    const verified = connectors.filter((connector) => connector.status === 'verified').length;
    if (report.outcome === 'skipped')
      return `${head}: not due (${report.reasons.join('; ')})${report.retired.length ? `; retired ${report.retired.join(', ')}` : ''}`;
    return `${head}: ${report.outcome}: key ${report.previousKeyId ?? 'none'} -> ${report.keyId ?? 'none'}; connectors verified ${verified}/${connectors.length}; retired ${report.retired.length}; retire later ${report.retireLater.length}${report.drift.length ? `; drift: ${report.drift.join(', ')}` : ''}${report.deadLetters.map((letter) => `\n  dead letter: connector ${letter.connectorId ?? '-'} at ${letter.step}: ${letter.errorCode}: ${letter.message}`).join('')}`;
  });
  return [...lines, `upstream calls: ${JSON.stringify(calls)}`].join('\n');
}
