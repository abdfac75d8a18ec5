import type { Command } from 'commander';
import { planPrune } from '../rotation/prune.ts';
import { ExitCode } from './exit-codes.ts';
import type { CliIo } from './io.ts';
import { withRuntime } from './with-runtime.ts';

export function registerPruneCommand(program: Command, io: CliIo): void {
  program
    .command('prune')
    .description(
      'remove from Qualys the (connector, app) pairs of managed apps that the configuration no longer lists',
    )
    .option('-c, --config <file>', 'configuration file (default: $ROTATOR_CONFIG)')
    .option('--dry-run', 'show what would be removed, remove nothing')
    .option('--json', 'print the result as JSON')
    .action(async (options: { config?: string; dryRun?: boolean; json?: boolean }) => {
      const code = await withRuntime(io, options.config, async (runtime) => {
        const plan = planPrune(runtime.config.targets, await runtime.qualys.listSecondaryApplications());
        let failed = 0;
        let removed = 0;
        if (options.dryRun !== true && plan.remove.length > 0) {
          const result = await runtime.qualys.deleteSecondaryApplications(plan.remove);
          removed = result.outcomes.filter((outcome) => outcome.status === 'succeeded').length;
          failed = result.outcomes.filter((outcome) => outcome.status === 'failed').length;
          await runtime.qualys.syncSecondaryApplications();
          runtime.logger.info({ removed, failed }, 'pruned pairs the configuration no longer lists');
        }
        const pairs = plan.remove.flatMap((mapping) =>
          mapping.appIds.map((appId) => `${mapping.connectorId} / ${appId}`),
        );
        if (options.json === true) {
          io.out(
            JSON.stringify(
              {
                dryRun: options.dryRun === true,
                remove: plan.remove,
                removed,
                failed,
                foreignApps: plan.foreignApps,
              },
              null,
              2,
            ),
          );
        } else {
          io.out(
            [
              pairs.length === 0
                ? 'no drift: Qualys lists no pair of a managed app that the configuration does not'
                : `${options.dryRun === true ? 'would remove' : `removed ${removed} of`} ${pairs.length} pair(s):`,
              ...pairs.map((pair) => `  ${pair}`),
              ...(plan.foreignApps.length > 0
                ? [
                    `left alone: ${plan.foreignApps.reduce((sum, mapping) => sum + mapping.appIds.length, 0)} pair(s) of apps the rotator does not manage`,
                  ]
                : []),
            ].join('\n'),
          );
        }
        return failed > 0 ? ExitCode.failure : ExitCode.ok;
      });
      io.exit(code);
    });
}
