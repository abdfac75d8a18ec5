import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/config-error.ts';
import { loadConfig, parseConfig } from '../../../src/config/load.ts';
import type { RotatorConfig, TenantAuth } from '../../../src/config/types.ts';
import { Secret } from '../../../src/util/secret.ts';
import { runCliCaptured } from '../cli/run-cli.ts';
import { BASE_PASSWORD, configYaml, firstTenant, writeFiles } from './config-builder.ts';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const EXAMPLE = join(REPO, 'examples', 'rotator.yaml');
const FIXTURES = join(REPO, 'test', 'fixtures', 'config');
const EXAMPLE_PASSWORD = 'example-qualys-password-not-real';
const EXAMPLE_CLIENT_SECRET = 'example-client-secret-not-real';

const CONTOSO = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const FABRIKAM = '0b6c1f1e-2f8e-4d4a-9c39-6f1b9d7c2a10';

function clientSecretOf(auth: TenantAuth | undefined): Secret {
  if (auth?.kind !== 'clientSecret') throw new Error(`expected clientSecret auth, got ${String(auth?.kind)}`);
  return auth.clientSecret;
}

/** Runs `fn` with another working directory (vitest runs this file in a forked process). */
function inDirectory<T>(dir: string, fn: () => T): T {
  const previous = process.cwd();
  process.chdir(dir);
  try {
    return fn();
  } finally {
    process.chdir(previous);
  }
}

describe('the shipped examples/rotator.yaml', () => {
  it('passes config check (exit 0)', async () => {
    const run = await runCliCaptured(['config', 'check', '--config', EXAMPLE]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout.startsWith('configuration is valid\n')).toBe(true);
  });

  it('loads with durations in ms, tenants, targets resolved by name and the secret files read', () => {
    const config = loadConfig({ path: EXAMPLE, env: {} });

    expect(config.qualys.gatewayUrl).toBe('https://gateway.qg1.apps.qualys.com');
    expect(config.qualys.username).toBe('svc-secret-rotator');
    expect(config.qualys.password).toBeInstanceOf(Secret);
    expect(config.qualys.password.reveal()).toBe(EXAMPLE_PASSWORD);
    expect(config.qualys.http).toEqual({
      connectTimeoutMs: 10_000,
      headersTimeoutMs: 30_000,
      bodyTimeoutMs: 30_000,
      maxAttempts: 4,
      retryBaseDelayMs: 500,
      retryMaxDelayMs: 20_000,
      maxThrottleWaitMs: 30_000,
      tokenRefreshBeforeExpiryMs: 300_000,
    });

    expect(config.azure.cloud).toBe('public');
    expect(config.azure.authorityHost).toBe('https://login.microsoftonline.com');
    expect(config.azure.graphEndpoint).toBe('https://graph.microsoft.com');
    expect(config.azure.graphScope).toBe('https://graph.microsoft.com/.default');
    expect(config.azure.readinessTimeoutMs).toBe(900_000);
    expect(config.azure.tenants.map((tenant) => [tenant.id, tenant.name, tenant.auth.kind])).toEqual([
      [CONTOSO, 'contoso', 'workloadIdentity'],
      [FABRIKAM, 'fabrikam', 'clientSecret'],
    ]);
    expect(config.azure.tenants[0]!.auth).toEqual({
      kind: 'workloadIdentity',
      clientId: undefined,
      tokenFilePath: undefined,
    });
    const fabrikamAuth = config.azure.tenants[1]!.auth;
    expect(fabrikamAuth.kind === 'clientSecret' && fabrikamAuth.clientId).toBe(
      '3f2504e0-4f89-41d3-9a0c-0305e82c3301',
    );
    expect(clientSecretOf(fabrikamAuth).reveal()).toBe(EXAMPLE_CLIENT_SECRET);

    expect(config.targets).toEqual([
      {
        name: 'contoso-scan-1',
        appId: 'a2f88fdf-5c1e-4b3a-9a51-0f4a08195669',
        objectId: '5e0c1a6b-9f3b-4e1a-8a8e-2f5d1c4b7a90',
        tenantId: CONTOSO,
        connectors: ['5dab0fb0-3c1d-4f6e-9d8a-08927bc515ec', '8c2554c4-a852-4631-b5cf-acc93b927340'],
      },
      {
        name: 'fabrikam-scan-1',
        appId: '896ead5f-1b2c-4d3e-8f40-6eff92471959',
        objectId: undefined,
        tenantId: FABRIKAM,
        connectors: ['8170c663-4a5b-4c6d-8e7f-d99213278f63'],
      },
    ]);

    expect(config.rotation).toEqual({
      intervalMs: 30 * 86_400_000,
      rotateBeforeExpiryMs: 14 * 86_400_000,
      secretLifetimeMs: 90 * 86_400_000,
      gracePeriodMs: 86_400_000,
      retireUnmanagedKeys: false,
      keepPrevious: 1,
      batchWindowMs: 5_000,
      batchMaxPairs: 200,
      verifyAttempts: 4,
      verifyDelayMs: 5_000,
      lockTtlMs: 60_000,
      schedule: '0 * * * *',
      timeZone: 'UTC',
    });
    expect(config.redis).toEqual({
      url: 'redis://127.0.0.1:6379',
      username: undefined,
      password: undefined,
      tls: undefined,
      sentinel: undefined,
      cluster: undefined,
      keyPrefix: '{rotator}',
    });
    expect(config.logging).toEqual({ level: 'info' });
  });

  it('takes its path from ROTATOR_CONFIG when no path is given', () => {
    const config = loadConfig({ env: { ROTATOR_CONFIG: EXAMPLE } });
    expect(config.qualys.username).toBe('svc-secret-rotator');
  });
});

describe('defaults', () => {
  it('fills every default around the smallest valid file', () => {
    const config = loadConfig({ path: join(FIXTURES, 'minimal.yaml'), env: {} });

    // Trailing slash dropped, tenant id lowercased, tenant name left unset.
    expect(config.qualys.gatewayUrl).toBe('https://gateway.qg2.apps.qualys.com');
    expect(config.qualys.password.reveal()).toBe('fixture-minimal-password');
    expect(config.azure.tenants).toEqual([
      {
        id: '9a8b7c6d-1111-4222-8333-444455556666',
        name: undefined,
        auth: { kind: 'managedIdentity', clientId: undefined },
      },
    ]);
    expect(config.targets).toEqual([]);
    expect(config.qualys.http).toEqual({
      connectTimeoutMs: 10_000,
      headersTimeoutMs: 30_000,
      bodyTimeoutMs: 30_000,
      maxAttempts: 4,
      retryBaseDelayMs: 500,
      retryMaxDelayMs: 20_000,
      maxThrottleWaitMs: 30_000,
      tokenRefreshBeforeExpiryMs: 300_000,
    });
    expect(config.azure.cloud).toBe('public');
    expect(config.azure.authorityHost).toBe('https://login.microsoftonline.com');
    expect(config.azure.readinessTimeoutMs).toBe(900_000);
    expect(config.rotation).toEqual({
      intervalMs: 2_592_000_000,
      rotateBeforeExpiryMs: 1_209_600_000,
      secretLifetimeMs: 7_776_000_000,
      gracePeriodMs: 86_400_000,
      retireUnmanagedKeys: false,
      keepPrevious: 1,
      batchWindowMs: 5_000,
      batchMaxPairs: 200,
      verifyAttempts: 4,
      verifyDelayMs: 5_000,
      lockTtlMs: 60_000,
      schedule: '0 * * * *',
      timeZone: 'UTC',
    });
    expect(config.redis.url).toBe('redis://127.0.0.1:6379');
    expect(config.redis.keyPrefix).toBe('{rotator}');
    expect(config.redis.tls).toBeUndefined();
    expect(config.logging.level).toBe('info');
  });

  it('fills the defaults inside optional sections once they are present', () => {
    const config = parseConfig(
      configYaml((document) => {
        document.redis = {
          tls: {},
          sentinel: { masterName: 'mymaster', nodes: [{ host: 'sentinel-0', port: 26379 }] },
        };
        firstTenant(document).auth = {
          kind: 'clientCertificate',
          clientId: '3f2504e0-4f89-41d3-9a0c-0305e82c3301',
          certificateFile: 'package.json',
        };
      }),
      'defaults.yaml',
      {},
      REPO,
    );
    expect(config.redis.tls).toEqual({
      enabled: true,
      caFile: undefined,
      certFile: undefined,
      keyFile: undefined,
      servername: undefined,
      rejectUnauthorized: true,
    });
    expect(config.redis.sentinel?.password).toBeUndefined();
    expect(config.azure.tenants[0]!.auth).toMatchObject({
      kind: 'clientCertificate',
      sendCertificateChain: false,
    });
  });
});

describe('environment overrides', () => {
  it('override numbers, booleans, strings and durations of the example', () => {
    const config = loadConfig({
      path: EXAMPLE,
      env: {
        ROTATOR_QUALYS__HTTP__MAX_ATTEMPTS: '7',
        ROTATOR_ROTATION__RETIRE_UNMANAGED_KEYS: 'true',
        ROTATOR_ROTATION__KEEP_PREVIOUS: '0',
        ROTATOR_QUALYS__USERNAME: 'svc-from-env',
        ROTATOR_QUALYS__GATEWAY_URL: 'https://gateway.qg3.apps.qualys.com',
        ROTATOR_ROTATION__GRACE_PERIOD: '2h',
        ROTATOR_ROTATION__SCHEDULE: '*/15 * * * *',
        ROTATOR_LOGGING__LEVEL: 'debug',
        ROTATOR_REDIS__TLS__REJECT_UNAUTHORIZED: 'false',
        // Not ROTATOR_: ignored.
        OTHER__QUALYS__USERNAME: 'ignored',
      },
    });
    expect(config.qualys.http.maxAttempts).toBe(7);
    expect(config.rotation.retireUnmanagedKeys).toBe(true);
    expect(config.rotation.keepPrevious).toBe(0);
    expect(config.qualys.username).toBe('svc-from-env');
    expect(config.qualys.gatewayUrl).toBe('https://gateway.qg3.apps.qualys.com');
    expect(config.rotation.gracePeriodMs).toBe(7_200_000);
    expect(config.rotation.schedule).toBe('*/15 * * * *');
    expect(config.logging.level).toBe('debug');
    // A section the file does not have is created by the override, with its other defaults.
    expect(config.redis.tls).toMatchObject({ enabled: true, rejectUnauthorized: false });
  });

  it('override list elements, and create new ones', () => {
    const config = loadConfig({
      path: EXAMPLE,
      env: {
        ROTATOR_TARGETS__1__TENANT: 'contoso',
        ROTATOR_TARGETS__0__CONNECTORS__2: 'AAAAAAAA-AAAA-4AAA-8AAA-AAAAAAAAAAAA',
        ROTATOR_TARGETS__2__APP_ID: 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb',
        ROTATOR_TARGETS__2__TENANT: FABRIKAM,
        ROTATOR_TARGETS__2__CONNECTORS__0: 'cccccccc-cccc-4ccc-8ccc-cccccccccccc',
      },
    });
    expect(config.targets.map((target) => target.tenantId)).toEqual([CONTOSO, CONTOSO, FABRIKAM]);
    expect(config.targets[0]!.connectors).toEqual([
      '5dab0fb0-3c1d-4f6e-9d8a-08927bc515ec',
      '8c2554c4-a852-4631-b5cf-acc93b927340',
      'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa',
    ]);
    expect(config.targets[2]).toEqual({
      name: 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb',
      appId: 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb',
      objectId: undefined,
      tenantId: FABRIKAM,
      connectors: ['cccccccc-cccc-4ccc-8ccc-cccccccccccc'],
    });
  });

  it('supply secrets, including ROTATOR_AZURE__TENANTS__0__AUTH__CLIENT_SECRET, always as strings', () => {
    const config = loadConfig({
      path: join(FIXTURES, 'env-secrets.yaml'),
      env: { ROTATOR_QUALYS__PASSWORD: '12345', ROTATOR_AZURE__TENANTS__0__AUTH__CLIENT_SECRET: 'true' },
    });
    const password = config.qualys.password.reveal();
    expect(typeof password).toBe('string');
    expect(password).toBe('12345');
    const clientSecret = clientSecretOf(config.azure.tenants[0]?.auth).reveal();
    expect(typeof clientSecret).toBe('string');
    expect(clientSecret).toBe('true');
  });

  it('keep a secret that looks like YAML (a leading zero, a list, a comment) verbatim', () => {
    const secrets = ['007', '[a, b]', 'pa ss #word', 'null', "'quoted'"];
    for (const secret of secrets) {
      const config = loadConfig({
        path: join(FIXTURES, 'env-secrets.yaml'),
        env: { ROTATOR_QUALYS__PASSWORD: secret, ROTATOR_AZURE__TENANTS__0__AUTH__CLIENT_SECRET: secret },
      });
      expect(config.qualys.password.reveal()).toBe(secret);
      expect(clientSecretOf(config.azure.tenants[0]?.auth).reveal()).toBe(secret);
    }
  });

  it('without the env secrets the same file is invalid, naming both variables', () => {
    expect(() => loadConfig({ path: join(FIXTURES, 'env-secrets.yaml'), env: {} })).toThrow(
      /ROTATOR_AZURE__TENANTS__0__AUTH__CLIENT_SECRET[\s\S]*ROTATOR_QUALYS__PASSWORD/,
    );
  });
});

describe('secret files', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rotator-secret-files-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['one trailing LF', 'pw-one\n', 'pw-one'],
    ['one trailing CRLF', 'pw-crlf\r\n', 'pw-crlf'],
    ['no trailing newline', 'pw-none', 'pw-none'],
    ['two trailing LFs (only one is dropped)', 'pw-two\n\n', 'pw-two\n'],
    ['trailing spaces (kept)', 'pw-space \n', 'pw-space '],
  ])('%s', (_name, content, expected) => {
    const name = `secret-${expected.trim()}`;
    writeFiles(dir, { [name]: content });
    const file = join(dir, `${name}.yaml`);
    writeFileSync(
      file,
      configYaml((config) => {
        delete config.qualys.password;
        config.qualys.passwordFile = name;
      }),
    );
    expect(loadConfig({ path: file, env: {} }).qualys.password.reveal()).toBe(expected);
  });

  it('accepts an absolute …File path too', () => {
    writeFiles(dir, { 'absolute/password': 'pw-absolute\n' });
    const config = parseConfig(
      configYaml((document) => {
        delete document.qualys.password;
        document.qualys.passwordFile = join(dir, 'absolute', 'password');
      }),
      'absolute.yaml',
      {},
      '/nonexistent-base-dir',
    );
    expect(config.qualys.password.reveal()).toBe('pw-absolute');
  });

  it('resolves relative …File paths against the config file’s folder, not the working directory', () => {
    const fromTmp = inDirectory(tmpdir(), () => loadConfig({ path: EXAMPLE, env: {} }));
    expect(fromTmp.qualys.password.reveal()).toBe(EXAMPLE_PASSWORD);

    const srcDir = join(REPO, 'src');
    const fromSrc = inDirectory(srcDir, () => {
      const path = relative(srcDir, EXAMPLE);
      expect(path).toBe(join('..', 'examples', 'rotator.yaml'));
      return loadConfig({ path, env: {} });
    });
    expect(clientSecretOf(fromSrc.azure.tenants[1]?.auth).reveal()).toBe(EXAMPLE_CLIENT_SECRET);
  });
});

describe('the loaded configuration', () => {
  const config = loadConfig({ path: EXAMPLE, env: {} });

  it('is deeply frozen', () => {
    const seen: string[] = [];
    const walk = (value: unknown, path: string): void => {
      if (value === null || typeof value !== 'object') return;
      expect(Object.isFrozen(value), `${path} is not frozen`).toBe(true);
      seen.push(path);
      for (const [key, child] of Object.entries(value)) walk(child, `${path}.${key}`);
    };
    walk(config, 'config');
    expect(seen).toContain('config.azure.tenants.1.auth.clientSecret');
    expect(seen).toContain('config.targets.0.connectors');
    expect(seen.length).toBeGreaterThanOrEqual(15);

    expect(Reflect.set(config.qualys, 'username', 'mallory')).toBe(false);
    expect(Reflect.set(config.targets, 0, {})).toBe(false);
    expect(() => Object.assign(config.rotation, { intervalMs: 1 })).toThrow(TypeError);
    expect(config.rotation.intervalMs).toBe(2_592_000_000);
    expect(config.qualys.username).toBe('svc-secret-rotator');
  });

  it('shows [REDACTED] and never a secret through JSON.stringify and util.inspect', () => {
    const json = JSON.stringify(config);
    const inspected = inspect(config, { depth: Infinity });
    for (const text of [json, inspected]) {
      expect(text).not.toContain(EXAMPLE_PASSWORD);
      expect(text).not.toContain(EXAMPLE_CLIENT_SECRET);
    }
    expect(json).toContain('"password":"[REDACTED]"');
    expect(json).toContain('"clientSecret":"[REDACTED]"');
    expect(inspected).toContain('password: [REDACTED]');
    expect(inspected).toContain('clientSecret: [REDACTED]');
    expect(String(config.qualys.password)).toBe('[REDACTED]');
  });

  it('keeps a ConfigError free of the configured values', () => {
    let caught: unknown;
    try {
      parseConfig(
        configYaml((document) => {
          document.qualys.gatewayUrl = 'http://gateway.qg1.apps.qualys.com';
        }),
        'leak-check.yaml',
      );
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const error = caught as ConfigError;
    expect(error.code).toBe('ROT_ERR_CONFIG_INVALID');
    expect(error.kind).toBe('permanent');
    expect(error.problems).toEqual([
      {
        path: 'qualys.gatewayUrl',
        message: 'must use https (plain http is accepted only for loopback hosts such as localhost)',
      },
    ]);
    expect(JSON.stringify(error.problems) + error.message).not.toContain(BASE_PASSWORD);
  });
});

describe('clouds', () => {
  const load = (mutate: Parameters<typeof configYaml>[0]): RotatorConfig =>
    parseConfig(configYaml(mutate), 'clouds.yaml');

  it.each([
    ['public', 'https://login.microsoftonline.com', 'https://graph.microsoft.com'],
    ['usgov', 'https://login.microsoftonline.us', 'https://graph.microsoft.us'],
    ['usgov-dod', 'https://login.microsoftonline.us', 'https://dod-graph.microsoft.us'],
    ['china', 'https://login.chinacloudapi.cn', 'https://microsoftgraph.chinacloudapi.cn'],
  ])('%s → authority %s, graph %s', (cloud, authorityHost, graphEndpoint) => {
    const config = load((document) => {
      document.azure.cloud = cloud;
    });
    expect(config.azure).toMatchObject({
      cloud,
      authorityHost,
      graphEndpoint,
      graphScope: `${graphEndpoint}/.default`,
    });
  });

  it('custom uses the given endpoints (trailing slash dropped, scope from the Graph origin)', () => {
    const config = load((document) => {
      document.azure.cloud = 'custom';
      document.azure.authorityHost = 'https://login.sovereign.example/';
      document.azure.graphEndpoint = 'https://graph.sovereign.example/';
    });
    expect(config.azure).toMatchObject({
      cloud: 'custom',
      authorityHost: 'https://login.sovereign.example',
      graphEndpoint: 'https://graph.sovereign.example',
      graphScope: 'https://graph.sovereign.example/.default',
    });
  });

  it('custom accepts plain http endpoints on loopback (a local simulator)', () => {
    const config = load((document) => {
      document.azure.cloud = 'custom';
      document.azure.authorityHost = 'http://127.0.0.1:8400';
      document.azure.graphEndpoint = 'http://localhost:8401';
    });
    expect(config.azure.authorityHost).toBe('http://127.0.0.1:8400');
    expect(config.azure.graphScope).toBe('http://localhost:8401/.default');
  });
});

describe('regressions of fixed bugs in loading', () => {
  const load = (mutate: (text: string) => string, env: Record<string, string> = {}) =>
    loadConfig({ path: writeExampleCopy(mutate), env });

  it('moves a password in the Redis URL into a Secret, so the URL can be shown', () => {
    const config = load((text) =>
      text.replace('url: redis://127.0.0.1:6379', 'url: redis://app:S3cr3t-in-url@redis:6380/2'),
    );
    expect(config.redis.url).toBe('redis://redis:6380/2');
    expect(config.redis.username).toBe('app');
    expect(config.redis.password?.reveal()).toBe('S3cr3t-in-url');
    expect(JSON.stringify(config)).not.toContain('S3cr3t-in-url');
  });

  it('rejects credentials in the gateway URL without echoing them', () => {
    expect(() =>
      load((text) =>
        text.replace(
          'https://gateway.qg1.apps.qualys.com',
          'https://u:S3cr3t-gw@gateway.qg1.apps.qualys.com',
        ),
      ),
    ).toThrow(/qualys\.gatewayUrl: must not contain credentials/);
    try {
      load((text) =>
        text.replace(
          'https://gateway.qg1.apps.qualys.com',
          'https://u:S3cr3t-gw@gateway.qg1.apps.qualys.com',
        ),
      );
    } catch (error) {
      expect((error as Error).message).not.toContain('S3cr3t-gw');
    }
  });

  it('bounds durations, so every date computed from them is valid', () => {
    expect(() =>
      load((text) => text.replace('secretLifetime: 90d', 'secretLifetime: 99999999999999999999999d')),
    ).toThrow(/rotation\.secretLifetime: expected a duration/);
    expect(() => load((text) => text.replace('gracePeriod: 24h', 'gracePeriod: 1h1h'))).toThrow(
      /rotation\.gracePeriod/,
    );
  });

  it('names the first of several duplicate tenants', () => {
    const third = `    - id: 72f988bf-86f1-41af-91ab-2d7cd011db47\n      auth:\n        kind: managedIdentity\n`;
    const tenantBlock = /( {4}- id: 0b6c1f1e-2f8e-4d4a-9c39-6f1b9d7c2a10[\s\S]*?clientSecretFile: [^\n]+\n)/;
    const errorText = (() => {
      try {
        load((text) => text.replace(tenantBlock, `$1${third}${third}`));
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    })();
    expect(errorText).toContain('azure.tenants[2]: duplicates azure.tenants[0]');
    expect(errorText).toContain('azure.tenants[3]: duplicates azure.tenants[0]');
  });
});

/** A mutated copy of the example, beside a copy of its secret files (which it names relatively). */
function writeExampleCopy(mutate: (text: string) => string): string {
  const dir = mkdtempSync(join(tmpdir(), 'rotator-example-copy-'));
  cpSync(join(REPO, 'examples', 'secrets'), join(dir, 'secrets'), { recursive: true });
  const file = join(dir, 'rotator.yaml');
  writeFileSync(file, mutate(readFileSync(EXAMPLE, 'utf8')));
  return file;
}
