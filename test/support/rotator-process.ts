import { spawn } from 'node:child_process';
import { join } from 'node:path';

/** The `rotator` executable from the sources, as a user runs it. */
export const ROTATOR_CLI = join(import.meta.dirname, '../../src/cli/main.ts');

export interface RotatorRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `rotator <args>` to its end; `env` is added to this process's environment. */
export function runRotator(
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<RotatorRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ROTATOR_CLI, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
