import { Option, type Command } from 'commander';
import { runDemo } from '../demo/run-demo.ts';
import { reExecTrustingCert, trustedCertDir } from '../demo/trusted-process.ts';
import type { CliIo } from './io.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function registerDemoCommand(program: Command, io: CliIo): void {
  program
    .command('demo')
    .description(
      'rotate a sample estate against local simulators: starts redis-server (unless REDIS_URL is set), the Entra/Graph and Qualys simulators and the worker, then prints a summary',
    )
    .option('--keep', 'keep running, with the worker HTTP server, until Ctrl-C')
    .addOption(
      new Option('--log-level <level>', 'worker log level, on stderr').choices(LOG_LEVELS).default('silent'),
    )
    .action(async (options: { keep?: boolean; logLevel: string }) => {
      const certDir = trustedCertDir(io.env);
      // The simulators speak TLS with a fresh certificate that Node trusts only from process start.
      if (certDir === undefined) {
        io.exit(await reExecTrustingCert(io.env));
        return;
      }
      io.exit(
        await runDemo({
          certDir,
          keep: options.keep === true,
          logLevel: options.logLevel,
          env: io.env,
          out: (text) => io.out(text),
        }),
      );
    });
}
