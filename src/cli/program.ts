import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/config-error.ts';
import { isRotatorError } from '../errors/rotator-error.ts';
import { SelectionError } from '../queue/operations.ts';
import { registerConfigCommand } from './config-command.ts';
import { registerDemoCommand } from './demo-command.ts';
import { registerDlqCommand } from './dlq-command.ts';
import { registerEnqueueCommand } from './enqueue-command.ts';
import { registerPruneCommand } from './prune-command.ts';
import { registerWorkerCommand } from './worker-command.ts';
import { registerRotateCommand, UsageError } from './rotate-command.ts';
import { registerStatusCommand } from './status-command.ts';
import { ExitCode } from './exit-codes.ts';
import type { CliIo } from './io.ts';
import { packageVersion } from './version.ts';

export function buildProgram(io: CliIo): Command {
  const program = new Command('rotator')
    .description(
      'Rotates the client secrets of the Entra ID secondary applications used by Qualys Azure connectors.',
    )
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError('(run rotator --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.out(text.trimEnd()),
      writeErr: (text) => io.err(text.trimEnd()),
    });
  registerConfigCommand(program, io);
  registerRotateCommand(program, io);
  registerPruneCommand(program, io);
  registerWorkerCommand(program, io);
  registerEnqueueCommand(program, io);
  registerStatusCommand(program, io);
  registerDlqCommand(program, io);
  registerDemoCommand(program, io);
  program.addHelpText(
    'after',
    '\nExit codes: 0 ok, 1 failure, 2 usage error, 78 invalid configuration.\nConfiguration: --config FILE or ROTATOR_CONFIG; overrides: ROTATOR_<SECTION>__<KEY> variables.',
  );
  return program;
}

/** Runs the CLI and returns the exit code instead of exiting, so it can be tested in-process. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let code: number = ExitCode.ok;
  const program = buildProgram({ ...io, exit: (exitCode) => (code = exitCode) });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end through here with exit code 0.
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    // A selection naming nothing the configuration has is a usage error too.
    if (error instanceof UsageError || error instanceof SelectionError) {
      io.err(`rotator: ${error.message}`);
      return ExitCode.usage;
    }
    if (error instanceof ConfigError) {
      io.err(`rotator: ${error.message}`);
      return ExitCode.config;
    }
    const message = error instanceof Error ? error.message : 'unknown error';
    io.err(`rotator: ${isRotatorError(error) ? `${error.code}: ` : ''}${message}`);
    return ExitCode.failure;
  }
}
