import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { problemLines, runCliCaptured } from './run-cli.ts';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const EXAMPLE = join(REPO, 'examples', 'rotator.yaml');
const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

const EXAMPLE_SUMMARY = [
  'configuration is valid',
  'qualys gateway: https://gateway.qg1.apps.qualys.com (user svc-secret-rotator)',
  'azure cloud: public (authority https://login.microsoftonline.com, graph https://graph.microsoft.com)',
  'tenants: 2 (contoso: workloadIdentity, fabrikam: clientSecret)',
  'targets: 2 apps across 3 connectors',
  'policy: rotate every 30d or 14d before expiry; new secrets live 90d; old keys retired after 1d; sweep "0 * * * *" UTC',
  'redis: standalone, key prefix {rotator}',
];

describe('rotator CLI in-process', () => {
  it('--help exits 0 and lists the config command and the exit codes', async () => {
    const run = await runCliCaptured(['--help']);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^Usage: rotator \[options\] \[command\]/);
    expect(run.stdout).toMatch(/^\s+config\s+inspect the configuration$/m);
    expect(run.stdout).toContain('Exit codes: 0 ok, 1 failure, 2 usage error, 78 invalid configuration.');
  });

  it('config --help lists check', async () => {
    const run = await runCliCaptured(['config', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^\s+check \[options\]\s+validate a configuration file/m);
  });

  it.each([['--version'], ['-V']])('%s exits 0 and prints the package.json version', async (flag) => {
    expect(VERSION).toMatch(/^\d+\.\d+\.\d+/);
    const run = await runCliCaptured([flag]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`${VERSION}\n`);
  });

  it('an unknown command exits 2 (usage)', async () => {
    const run = await runCliCaptured(['frobnicate']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain("error: unknown command 'frobnicate'");
  });

  it('an unknown option exits 2 (usage)', async () => {
    const run = await runCliCaptured(['config', 'check', '--no-such-option']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("error: unknown option '--no-such-option'");
  });

  it('--config without its value exits 2 (usage), not 78', async () => {
    const run = await runCliCaptured(['config', 'check', '--config']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("option '-c, --config <file>' argument missing");
  });

  it('config check on the example exits 0 and prints the summary', async () => {
    const run = await runCliCaptured(['config', 'check', '--config', EXAMPLE]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`${EXAMPLE_SUMMARY.join('\n')}\n`);
    expect(run.stdout).not.toContain('example-qualys-password-not-real');
    expect(run.stdout).not.toContain('example-client-secret-not-real');
  });

  it('config check -c reads ROTATOR_* overrides from the io environment', async () => {
    const run = await runCliCaptured(['config', 'check', '-c', EXAMPLE], {
      ROTATOR_ROTATION__GRACE_PERIOD: '36h',
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('old keys retired after 1d12h;');
  });

  it('config check finds the file through ROTATOR_CONFIG', async () => {
    const run = await runCliCaptured(['config', 'check'], { ROTATOR_CONFIG: EXAMPLE });
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')[0]).toBe('configuration is valid');
  });

  it('config check --json prints one JSON object', async () => {
    const run = await runCliCaptured(['config', 'check', '--json', '--config', EXAMPLE]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ ok: true, targets: 2, tenants: 2 });
  });
});

describe('rotator executable (spawned)', () => {
  // A clean environment: no ROTATOR_* variable of the machine running the tests may leak in.
  const env = { PATH: process.env.PATH ?? '' };
  const spawnRotator = (args: readonly string[]) =>
    spawnSync(process.execPath, ['src/cli/main.ts', ...args], {
      cwd: REPO,
      env,
      encoding: 'utf8',
      timeout: 20_000,
    });

  it('node src/cli/main.ts config check --config examples/rotator.yaml exits 0', () => {
    const result = spawnRotator(['config', 'check', '--config', 'examples/rotator.yaml']);
    expect(result.error).toBeUndefined();
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`${EXAMPLE_SUMMARY.join('\n')}\n`);
  });

  it('exits 78 on a bad configuration, naming the problem on stderr', () => {
    const result = spawnRotator(['config', 'check', '--config', 'test/fixtures/config/invalid.yaml']);
    expect(result.error).toBeUndefined();
    expect(result.status).toBe(78);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('rotator: configuration test/fixtures/config/invalid.yaml is invalid');
    expect(problemLines(result.stderr)).toContain(
      '  - targets[0].connectors[0]: expected a UUID like 00000000-0000-0000-0000-000000000000',
    );
    expect(result.stderr).not.toContain('fixture-invalid-password');
  });
});
