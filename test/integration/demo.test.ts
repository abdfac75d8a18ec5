import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/** `rotator demo` as a user runs it: its own redis-server, simulators and worker, then the summary. */

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runDemo(): Promise<Run> {
  // No REDIS_URL: the demo starts its own redis-server, as on a fresh machine.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'REDIS_URL'));
  const child = spawn(process.execPath, ['src/cli/main.ts', 'demo'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('rotator demo', () => {
  it('rotates every target but the expected failure, which is dead-lettered, and prints no secret', async () => {
    const run = await runDemo();
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.split('\n');
    const targetLines = lines.filter((line) => /^ {2}(contoso|fabrikam)-app-\d+ {2,}\S/.test(line));
    expect(targetLines).toHaveLength(12);
    const rotated = targetLines.filter((line) => /\srotated\s+key [0-9a-f]{8} → [0-9a-f]{8}\s/.test(line));
    expect(rotated).toHaveLength(11);
    for (const line of rotated) expect(line).toContain('(old key removed)');
    const partial = targetLines.filter((line) => /\spartial\s/.test(line));
    expect(partial).toHaveLength(1);
    expect(run.stdout).toContain('Dead letters (1):');
    expect(run.stdout).toMatch(/connector [0-9a-f]{8}: CONNECTOR_NOT_FOUND at push/);
    expect(run.stdout).toMatch(/Qualys: .*register \d+/);
    expect(run.stdout).toContain('Demo OK');
    // The Entra simulator's secrets carry `Q~`, and every token is a JWT.
    for (const line of [...lines, ...run.stderr.split('\n')]) {
      expect(line).not.toContain('Q~');
      expect(line).not.toContain('eyJ');
    }
  }, 30_000);
});
