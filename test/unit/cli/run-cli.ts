import type { CliIo } from '../../../src/cli/io.ts';
import { runCli } from '../../../src/cli/program.ts';

/** What one in-process run of the CLI printed and returned. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `rotator <argv>` in this process with a capturing `CliIo` and the given environment only. */
export async function runCliCaptured(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): Promise<CliRun> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: CliIo = {
    env,
    out: (text) => stdout.push(text),
    err: (text) => stderr.push(text),
    // runCli replaces this with its own capture and returns the code instead.
    exit: () => undefined,
  };
  const code = await runCli(argv, io);
  return {
    code,
    stdout: stdout.map((text) => `${text}\n`).join(''),
    stderr: stderr.map((text) => `${text}\n`).join(''),
  };
}

/** The problem lines (`  - path: message`) of a ConfigError as printed by the CLI. */
export function problemLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('  - '));
}
