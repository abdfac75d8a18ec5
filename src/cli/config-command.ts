import type { Command } from 'commander';
import { configJsonSchema } from '../config/json-schema.ts';
import { loadConfig } from '../config/load.ts';
import { formatDurationMs } from '../config/duration.ts';
import type { RotatorConfig } from '../config/types.ts';
import type { CliIo } from './io.ts';
import { ExitCode } from './exit-codes.ts';

/** A short, secret-free summary of what a valid configuration will do. */
export function summarizeConfig(config: RotatorConfig): string {
  const connectors = new Set(config.targets.flatMap((target) => target.connectors));
  const policy = config.rotation;
  return [
    `qualys gateway: ${config.qualys.gatewayUrl} (user ${config.qualys.username})`,
    `azure cloud: ${config.azure.cloud} (authority ${config.azure.authorityHost}, graph ${config.azure.graphEndpoint})`,
    `tenants: ${config.azure.tenants.length} (${config.azure.tenants.map((tenant) => `${tenant.name ?? tenant.id}: ${tenant.auth.kind}`).join(', ')})`,
    `targets: ${config.targets.length} apps across ${connectors.size} connectors`,
    `policy: rotate every ${formatDurationMs(policy.intervalMs)} or ${formatDurationMs(policy.rotateBeforeExpiryMs)} before expiry; new secrets live ${formatDurationMs(policy.secretLifetimeMs)}; old keys retired after ${formatDurationMs(policy.gracePeriodMs)}; sweep "${policy.schedule}" ${policy.timeZone}`,
    `redis: ${config.redis.sentinel ? 'sentinel' : config.redis.cluster ? 'cluster' : 'standalone'}, key prefix ${config.redis.keyPrefix}`,
  ].join('\n');
}

export function registerConfigCommand(program: Command, io: CliIo): void {
  const config = program.command('config').description('inspect the configuration');
  config
    .command('check')
    .description('validate a configuration file (and its environment overrides and secret files)')
    .option('-c, --config <file>', 'configuration file (default: $ROTATOR_CONFIG)')
    .option('--json', 'print the result as JSON')
    .action((options: { config?: string; json?: boolean }) => {
      const loaded = loadConfig({ path: options.config, env: io.env });
      if (options.json === true) {
        io.out(
          JSON.stringify({ ok: true, targets: loaded.targets.length, tenants: loaded.azure.tenants.length }),
        );
      } else {
        io.out(`configuration is valid\n${summarizeConfig(loaded)}`);
      }
      io.exit(ExitCode.ok);
    });
  config
    .command('schema')
    .description('print the JSON Schema of the configuration file (for editors and CI)')
    .action(() => {
      io.out(JSON.stringify(configJsonSchema(), null, 2));
      io.exit(ExitCode.ok);
    });
}
