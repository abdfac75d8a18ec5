import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problemLines, runCliCaptured, type CliRun } from '../cli/run-cli.ts';
import {
  APP_ID,
  BASE_PASSWORD,
  CLIENT_ID,
  CONNECTOR_1,
  TENANT_ID,
  configYaml,
  firstTarget,
  firstTenant,
  writeFiles,
  type ConfigDocument,
} from './config-builder.ts';

interface BadCase {
  readonly name: string;
  /** Changes one thing in the valid base configuration. */
  readonly mutate?: (config: ConfigDocument) => void;
  /** Edits the YAML text written from the (changed) base, for what an object cannot express. */
  readonly edit?: (yaml: string) => string;
  readonly env?: Readonly<Record<string, string>>;
  /** Files written next to the configuration file (relative name → content). */
  readonly files?: Readonly<Record<string, string>>;
  /** The problem's path as printed: `  - <path>: <message>`. */
  readonly path: string;
  /** Fragments that must all appear in that problem's message. */
  readonly message: readonly string[];
  /** Secret-looking values this case puts in the file or the environment; none may be printed. */
  readonly secrets?: readonly string[];
}

const UNKNOWN_KEY = 'unknown key: check its spelling and level against examples/rotator.yaml';
const BAD_UUID = 'expected a UUID like 00000000-0000-0000-0000-000000000000';
const FILE_PASSWORD = 'S3cr3t-file-password-unique';
const CLIENT_SECRET = 'S3cr3t-client-secret-unique';
const MISPLACED_PASSWORD = 'S3cr3t-misplaced-password-unique';
const YAML_LINE_PASSWORD = 'S3cr3t-yaml-line-password-unique';
const ENV_PASSWORD = 'S3cr3t-env-password-unique';
const ENV_CLIENT_SECRET = 'S3cr3t-env-client-secret-unique';

const withoutPassword = (config: ConfigDocument): void => {
  delete config.qualys.password;
};

const BAD_CASES: readonly BadCase[] = [
  // Unknown keys
  {
    name: 'unknown top-level key',
    mutate: (config) => {
      config.metrics = { port: 9090 };
    },
    path: 'metrics',
    message: [UNKNOWN_KEY],
  },
  {
    name: 'unknown nested key (gatewayURL typo)',
    mutate: (config) => {
      config.qualys.gatewayURL = config.qualys.gatewayUrl;
      delete config.qualys.gatewayUrl;
    },
    path: 'qualys.gatewayURL',
    message: [UNKNOWN_KEY],
  },
  {
    name: 'unknown key two levels down (qualys.http.maxAttempt)',
    mutate: (config) => {
      config.qualys.http = { maxAttempt: 3 };
    },
    path: 'qualys.http.maxAttempt',
    message: [UNKNOWN_KEY],
  },
  {
    name: 'a password placed under a misspelt key',
    mutate: (config) => {
      delete config.qualys.password;
      config.qualys.pasword = MISPLACED_PASSWORD;
    },
    path: 'qualys.pasword',
    message: [UNKNOWN_KEY],
    secrets: [MISPLACED_PASSWORD],
  },
  // Qualys credentials
  {
    name: 'missing qualys.username',
    mutate: (config) => {
      delete config.qualys.username;
    },
    path: 'qualys.username',
    message: ['is required'],
  },
  {
    name: 'missing qualys password',
    mutate: withoutPassword,
    path: 'qualys.password',
    message: ['is required', 'set passwordFile to a mounted secret file', 'ROTATOR_QUALYS__PASSWORD'],
  },
  {
    name: 'both password and passwordFile',
    mutate: (config) => {
      config.qualys.passwordFile = 'secrets/qualys-password';
    },
    files: { 'secrets/qualys-password': `${FILE_PASSWORD}\n` },
    path: 'qualys.password',
    message: ['set exactly one of password and passwordFile, not both'],
    secrets: [FILE_PASSWORD],
  },
  {
    name: 'passwordFile that does not exist',
    mutate: (config) => {
      withoutPassword(config);
      config.qualys.passwordFile = 'secrets/not-mounted';
    },
    path: 'qualys.passwordFile',
    message: ['cannot read the file (ENOENT)', 'mount the secret or fix the path'],
  },
  {
    name: 'empty password file (a lone newline)',
    mutate: (config) => {
      withoutPassword(config);
      config.qualys.passwordFile = 'secrets/qualys-password';
    },
    files: { 'secrets/qualys-password': '\n' },
    path: 'qualys.passwordFile',
    message: ['the file is empty'],
  },
  {
    name: 'empty inline password',
    mutate: (config) => {
      config.qualys.password = '';
    },
    path: 'qualys.password',
    message: ['must not be empty'],
  },
  // URLs
  {
    name: 'plain http gateway URL on a non-loopback host',
    mutate: (config) => {
      config.qualys.gatewayUrl = 'http://gateway.qg1.apps.qualys.com';
    },
    path: 'qualys.gatewayUrl',
    message: ['must use https', 'plain http is accepted only for loopback hosts'],
  },
  {
    name: 'gateway URL without a scheme',
    mutate: (config) => {
      config.qualys.gatewayUrl = 'gateway.qg1.apps.qualys.com';
    },
    path: 'qualys.gatewayUrl',
    message: ['expected an absolute URL such as https://host.example'],
  },
  // UUIDs, duplicates, references
  {
    name: 'bad UUID in a target appId',
    mutate: (config) => {
      firstTarget(config).appId = '22222222-2222-4222-8222-22222222222';
    },
    path: 'targets[0].appId',
    message: [BAD_UUID],
  },
  {
    name: 'bad UUID in a connector',
    mutate: (config) => {
      firstTarget(config).connectors = [CONNECTOR_1, 'connector-two'];
    },
    path: 'targets[0].connectors[1]',
    message: [BAD_UUID],
  },
  {
    name: 'bad UUID in a tenant id',
    mutate: (config) => {
      firstTenant(config).id = 'contoso.onmicrosoft.com';
    },
    path: 'azure.tenants[0].id',
    message: [BAD_UUID],
  },
  {
    name: 'duplicate target appId (differing only in case)',
    mutate: (config) => {
      config.targets.push({ appId: APP_ID.toUpperCase(), tenant: 'contoso', connectors: [CONNECTOR_1] });
    },
    path: 'targets[1].appId',
    message: ['duplicates targets[0]: list each app once, with all its connectors'],
  },
  {
    name: 'duplicate connector in a target (differing only in case)',
    mutate: (config) => {
      (firstTarget(config).connectors as string[]).push(CONNECTOR_1.toUpperCase());
    },
    path: 'targets[0].connectors[2]',
    message: ['is listed twice for this target'],
  },
  {
    name: 'target tenant that is not configured',
    mutate: (config) => {
      firstTarget(config).tenant = 'fabrikam';
    },
    path: 'targets[0].tenant',
    message: ['names no tenant in azure.tenants'],
  },
  {
    name: 'duplicate tenant id',
    mutate: (config) => {
      config.azure.tenants.push({ id: TENANT_ID, auth: { kind: 'managedIdentity' } });
    },
    path: 'azure.tenants[1]',
    message: ['duplicates azure.tenants[0] (same id or name)'],
  },
  {
    name: 'duplicate tenant name (differing only in case)',
    mutate: (config) => {
      config.azure.tenants.push({
        id: '66666666-6666-4666-8666-666666666666',
        name: 'Contoso',
        auth: { kind: 'managedIdentity' },
      });
    },
    path: 'azure.tenants[1]',
    message: ['duplicates azure.tenants[0] (same id or name)'],
  },
  {
    name: 'no tenants',
    mutate: (config) => {
      config.azure.tenants = [];
    },
    path: 'azure.tenants',
    message: ['configure at least one tenant'],
  },
  {
    name: 'target without connectors',
    mutate: (config) => {
      firstTarget(config).connectors = [];
    },
    path: 'targets[0].connectors',
    message: ['list at least one connector UUID'],
  },
  // Rotation policy
  {
    name: 'secretLifetime equal to interval + rotateBeforeExpiry',
    mutate: (config) => {
      config.rotation = { interval: '30d', rotateBeforeExpiry: '14d', secretLifetime: '44d' };
    },
    path: 'rotation.secretLifetime',
    message: [
      'must be longer than rotation.interval + rotation.rotateBeforeExpiry',
      '(30d + 14d = 44d)',
      'got 44d',
    ],
  },
  {
    name: 'secretLifetime shorter than interval + rotateBeforeExpiry (mixed units)',
    mutate: (config) => {
      config.rotation = { interval: '1h30m', rotateBeforeExpiry: '1d', secretLifetime: '1d' };
    },
    path: 'rotation.secretLifetime',
    message: ['(1h30m + 1d = 1d1h30m)', 'got 1d'],
  },
  {
    name: 'bad duration string',
    mutate: (config) => {
      config.rotation = { gracePeriod: '1 day' };
    },
    path: 'rotation.gracePeriod',
    message: ['expected a duration such as 90d, 12h, 1h30m, 45s or 500ms (at most 3650d)'],
  },
  {
    name: 'zero rotation interval',
    mutate: (config) => {
      config.rotation = { interval: '0s' };
    },
    path: 'rotation.interval',
    message: ['expected a duration greater than 0'],
  },
  {
    name: 'bad cron schedule',
    mutate: (config) => {
      config.rotation = { schedule: 'every hour' };
    },
    path: 'rotation.schedule',
    message: ['expected a cron pattern of 5 or 6 fields'],
  },
  {
    name: 'bad time zone',
    mutate: (config) => {
      config.rotation = { timeZone: 'Mars/Olympus_Mons' };
    },
    path: 'rotation.timeZone',
    message: ['expected an IANA time zone such as UTC or Europe/Paris'],
  },
  {
    name: 'keepPrevious above its maximum',
    mutate: (config) => {
      config.rotation = { keepPrevious: 11 };
    },
    path: 'rotation.keepPrevious',
    message: ['must be at most 10'],
  },
  {
    name: 'qualys.http.maxAttempts below its minimum',
    mutate: (config) => {
      config.qualys.http = { maxAttempts: 0 };
    },
    path: 'qualys.http.maxAttempts',
    message: ['must be at least 1'],
  },
  // Tenant authentication
  {
    name: 'unknown auth kind',
    mutate: (config) => {
      firstTenant(config).auth = { kind: 'password' };
    },
    path: 'azure.tenants[0].auth.kind',
    message: [
      'expected auth.kind to be one of workloadIdentity, clientSecret, clientCertificate, managedIdentity',
    ],
  },
  {
    name: 'clientSecret auth without its secret',
    mutate: (config) => {
      firstTenant(config).auth = { kind: 'clientSecret', clientId: CLIENT_ID };
    },
    path: 'azure.tenants[0].auth.clientSecret',
    message: ['is required', 'set clientSecretFile', 'ROTATOR_AZURE__TENANTS__0__AUTH__CLIENT_SECRET'],
  },
  {
    name: 'clientSecret auth with both clientSecret and clientSecretFile',
    mutate: (config) => {
      firstTenant(config).auth = {
        kind: 'clientSecret',
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        clientSecretFile: 'secrets/client-secret',
      };
    },
    files: { 'secrets/client-secret': `${FILE_PASSWORD}\n` },
    path: 'azure.tenants[0].auth.clientSecret',
    message: ['set exactly one of clientSecret and clientSecretFile, not both'],
    secrets: [CLIENT_SECRET, FILE_PASSWORD],
  },
  {
    name: 'clientSecret auth without its clientId',
    mutate: (config) => {
      firstTenant(config).auth = { kind: 'clientSecret', clientSecret: CLIENT_SECRET };
    },
    path: 'azure.tenants[0].auth.clientId',
    message: ['is required'],
    secrets: [CLIENT_SECRET],
  },
  {
    name: 'clientCertificate auth whose certificate file is missing',
    mutate: (config) => {
      firstTenant(config).auth = {
        kind: 'clientCertificate',
        clientId: CLIENT_ID,
        certificateFile: 'certs/rotator.pem',
      };
    },
    path: 'azure.tenants[0].auth.certificateFile',
    message: ['cannot read the file (ENOENT); mount it or fix the path'],
  },
  // Clouds
  {
    name: 'custom cloud without authorityHost',
    mutate: (config) => {
      config.azure.cloud = 'custom';
      config.azure.graphEndpoint = 'https://graph.example.test';
    },
    path: 'azure.authorityHost',
    message: ['is required when azure.cloud is custom'],
  },
  {
    name: 'custom cloud with a plain http graphEndpoint',
    mutate: (config) => {
      config.azure.cloud = 'custom';
      config.azure.authorityHost = 'https://login.example.test';
      config.azure.graphEndpoint = 'http://graph.example.test';
    },
    path: 'azure.graphEndpoint',
    message: ['must use https'],
  },
  {
    name: 'authorityHost set with a named cloud',
    mutate: (config) => {
      config.azure.cloud = 'usgov';
      config.azure.authorityHost = 'https://login.example.test';
    },
    path: 'azure.authorityHost',
    message: ['is set by azure.cloud (usgov)', 'set azure.cloud: custom'],
  },
  {
    name: 'unknown cloud name',
    mutate: (config) => {
      config.azure.cloud = 'AzureCloud';
    },
    path: 'azure.cloud',
    message: ['expected one of public, usgov, usgov-dod, china, custom'],
  },
  // Redis and logging
  {
    name: 'redis sentinel and cluster both set',
    mutate: (config) => {
      config.redis = {
        sentinel: { masterName: 'mymaster', nodes: [{ host: 'sentinel-0', port: 26379 }] },
        cluster: { nodes: [{ host: 'redis-0', port: 6379 }] },
      };
    },
    path: 'redis',
    message: ['set either redis.sentinel or redis.cluster, not both'],
  },
  {
    name: 'redis cluster without a hash tag in keyPrefix',
    mutate: (config) => {
      config.redis = { keyPrefix: 'rotator', cluster: { nodes: [{ host: 'redis-0', port: 6379 }] } };
    },
    path: 'redis.keyPrefix',
    message: ['must contain a hash tag such as {rotator} when redis.cluster is set'],
  },
  {
    name: 'redis keyPrefix with a colon',
    mutate: (config) => {
      config.redis = { keyPrefix: '{rotator}:prod' };
    },
    path: 'redis.keyPrefix',
    message: ['must not contain ":"'],
  },
  {
    name: 'redis URL with a non-redis scheme',
    mutate: (config) => {
      config.redis = { url: 'http://127.0.0.1:6379' };
    },
    path: 'redis.url',
    message: ['expected a redis:// or rediss:// URL'],
  },
  {
    name: 'redis TLS CA file that does not exist',
    mutate: (config) => {
      config.redis = { tls: { caFile: 'tls/ca.crt' } };
    },
    path: 'redis.tls.caFile',
    message: ['cannot read the file (ENOENT)'],
  },
  {
    name: 'unknown logging level',
    mutate: (config) => {
      config.logging = { level: 'verbose' };
    },
    path: 'logging.level',
    message: ['expected one of fatal, error, warn, info, debug, trace, silent'],
  },
  // YAML
  {
    name: 'YAML syntax error on the line that holds a password',
    edit: (yaml) => yaml.replace(`password: ${BASE_PASSWORD}`, `password: ${YAML_LINE_PASSWORD}: x`),
    path: '(yaml)',
    message: ['syntax error BLOCK_AS_IMPLICIT_KEY at line 4, column 13'],
    secrets: [YAML_LINE_PASSWORD],
  },
  {
    name: 'YAML duplicate key',
    edit: (yaml) => `${yaml}targets: []\n`,
    path: '(yaml)',
    message: ['syntax error DUPLICATE_KEY at line'],
  },
  {
    name: 'YAML file that is a list, not a mapping',
    edit: () => '- qualys\n- azure\n',
    path: '(root)',
    message: ['expected a mapping of sections (qualys, azure, targets, …)'],
  },
  {
    name: 'YAML file that is a scalar',
    edit: () => 'just some text\n',
    path: '(root)',
    message: ['expected a mapping of sections'],
  },
  {
    name: 'empty YAML file',
    edit: () => '',
    path: 'qualys',
    message: ['is required'],
  },
  // Environment overrides
  {
    name: 'env override with a value out of range',
    env: { ROTATOR_QUALYS__HTTP__MAX_ATTEMPTS: '99' },
    path: 'qualys.http.maxAttempts',
    message: ['must be at most 20', '(set by ROTATOR_QUALYS__HTTP__MAX_ATTEMPTS)'],
  },
  {
    name: 'env override with a bad duration',
    env: { ROTATOR_ROTATION__INTERVAL: 'monthly' },
    path: 'rotation.interval',
    message: ['expected a duration such as', '(set by ROTATOR_ROTATION__INTERVAL)'],
  },
  {
    name: 'a ROTATOR_ variable without the "__" level separator (a typo)',
    env: { ROTATOR_QUALYS_PASSWORD: 'bar' },
    path: 'ROTATOR_QUALYS_PASSWORD',
    message: ['is not an override', 'ROTATOR_QUALYS__GATEWAY_URL'],
  },
  {
    name: 'an unknown key set through the environment',
    env: { ROTATOR_QUALYS__FOO: 'bar' },
    path: 'qualys.foo',
    message: [UNKNOWN_KEY, '(set by ROTATOR_QUALYS__FOO)'],
  },
  {
    name: 'env override of a password under a misspelt key',
    env: { ROTATOR_QUALYS__PASSWRD: ENV_PASSWORD },
    path: 'qualys.passwrd',
    message: [UNKNOWN_KEY, '(set by ROTATOR_QUALYS__PASSWRD)'],
    secrets: [ENV_PASSWORD],
  },
  {
    name: 'env override of a tenant secret under a misspelt key',
    env: { ROTATOR_AZURE__TENANTS__0__AUTH__CLIENT_SECRT: ENV_CLIENT_SECRET },
    path: 'azure.tenants[0].auth.clientSecrt',
    message: [UNKNOWN_KEY, '(set by ROTATOR_AZURE__TENANTS__0__AUTH__CLIENT_SECRT)'],
    secrets: [ENV_CLIENT_SECRET],
  },
  {
    name: 'env password on top of a passwordFile',
    mutate: (config) => {
      withoutPassword(config);
      config.qualys.passwordFile = 'secrets/qualys-password';
    },
    files: { 'secrets/qualys-password': `${FILE_PASSWORD}\n` },
    env: { ROTATOR_QUALYS__PASSWORD: ENV_PASSWORD },
    path: 'qualys.password',
    message: ['set exactly one of password and passwordFile', '(set by ROTATOR_QUALYS__PASSWORD)'],
    secrets: [ENV_PASSWORD, FILE_PASSWORD],
  },
  {
    name: 'env override inside a scalar',
    env: { ROTATOR_QUALYS__USERNAME__FIRST: 'svc' },
    path: 'ROTATOR_QUALYS__USERNAME__FIRST',
    message: ['cannot override inside a value that is not an object or a list'],
  },
  {
    name: 'env variable with an empty segment',
    env: { ROTATOR_QUALYS____USERNAME: 'svc' },
    path: 'ROTATOR_QUALYS____USERNAME',
    message: ['malformed variable name: segments are separated by "__"'],
  },
];

describe('config check on bad configurations', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'rotator-bad-configs-'));
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  /** Writes the case's files into its own folder and runs `config check` on them. */
  async function runCase(
    badCase: BadCase,
    index: number,
  ): Promise<{ run: CliRun; file: string; yaml: string }> {
    const dir = join(root, `case-${index}`);
    mkdirSync(dir);
    writeFiles(dir, badCase.files ?? {});
    const text = configYaml(badCase.mutate);
    const yaml = badCase.edit ? badCase.edit(text) : text;
    const file = join(dir, 'rotator.yaml');
    writeFileSync(file, yaml);
    const run = await runCliCaptured(['config', 'check', '--config', file], badCase.env ?? {});
    return { run, file, yaml };
  }

  it('has at least 24 cases with unique names', () => {
    expect(BAD_CASES.length).toBeGreaterThanOrEqual(24);
    expect(new Set(BAD_CASES.map((badCase) => badCase.name)).size).toBe(BAD_CASES.length);
  });

  it.each(BAD_CASES.map((badCase, index) => [badCase.name, badCase, index] as const))(
    '%s → exit 78 naming the path',
    async (_name, badCase, index) => {
      const { run, file, yaml } = await runCase(badCase, index);

      expect(run.code).toBe(78);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/^rotator: configuration .* is invalid \((1 problem|\d+ problems)\):\n/);
      expect(run.stderr).toContain(`configuration ${file} is invalid`);
      const lines = problemLines(run.stderr);
      const matching = lines.filter((line) => line.startsWith(`  - ${badCase.path}: `));
      expect(matching, `no problem at ${badCase.path} in:\n${run.stderr}`).not.toHaveLength(0);
      expect(
        matching.some((line) => badCase.message.every((fragment) => line.includes(fragment))),
        `no problem at ${badCase.path} says ${JSON.stringify(badCase.message)} in:\n${run.stderr}`,
      ).toBe(true);

      // Secrets never echoed: the base password is in most files, and each case's own secrets must
      // really be in its file or environment for the check to mean anything.
      const printed = run.stdout + run.stderr;
      expect(printed).not.toContain(BASE_PASSWORD);
      const inputs = yaml + JSON.stringify(badCase.env ?? {}) + JSON.stringify(badCase.files ?? {});
      for (const secret of badCase.secrets ?? []) {
        expect(inputs).toContain(secret);
        expect(printed).not.toContain(secret);
      }
    },
  );

  it('lists several problems in ONE message with their count', async () => {
    const { run } = await runCase(
      {
        name: 'three problems',
        mutate: (config) => {
          config.metrics = true;
          firstTarget(config).appId = 'not-a-uuid';
          config.rotation = { gracePeriod: 'a day' };
        },
        path: '',
        message: [],
      },
      1000,
    );
    expect(run.code).toBe(78);
    expect(run.stderr.match(/is invalid/g)).toHaveLength(1);
    expect(run.stderr).toContain('is invalid (3 problems):');
    expect(problemLines(run.stderr)).toEqual([
      `  - targets[0].appId: ${BAD_UUID}`,
      '  - rotation.gracePeriod: expected a duration such as 90d, 12h, 1h30m, 45s or 500ms (at most 3650d)',
      `  - metrics: ${UNKNOWN_KEY}`,
    ]);
  });

  it('reports environment problems together with the file’s problems', async () => {
    const { run } = await runCase(
      {
        name: 'env and file problems',
        mutate: (config) => {
          firstTarget(config).tenant = 'fabrikam';
        },
        env: { ROTATOR_QUALYS____USERNAME: 'svc' },
        path: '',
        message: [],
      },
      1001,
    );
    expect(run.code).toBe(78);
    expect(run.stderr).toContain('is invalid (2 problems):');
    expect(problemLines(run.stderr).map((line) => line.split(': ')[0])).toEqual([
      '  - ROTATOR_QUALYS____USERNAME',
      '  - targets[0].tenant',
    ]);
  });

  it('without --config and without ROTATOR_CONFIG → 78 naming both', async () => {
    for (const env of [{}, { ROTATOR_CONFIG: '' }]) {
      const run = await runCliCaptured(['config', 'check'], env);
      expect(run.code).toBe(78);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain('(1 problem)');
      expect(run.stderr).toContain('--config');
      expect(run.stderr).toContain('ROTATOR_CONFIG');
    }
  });

  it('a configuration file that does not exist → 78 with the error code', async () => {
    const file = join(root, 'no-such-dir', 'rotator.yaml');
    const run = await runCliCaptured(['config', 'check', '--config', file]);
    expect(run.code).toBe(78);
    expect(problemLines(run.stderr)).toEqual([`  - (file): cannot read ${file} (ENOENT)`]);
  });
});

interface GoodCase {
  readonly name: string;
  readonly mutate: (config: ConfigDocument) => void;
  /** A line the summary must contain. */
  readonly summary: string;
}

const GOOD_CASES: readonly GoodCase[] = [
  {
    name: 'http://localhost gateway (loopback)',
    mutate: (config) => {
      config.qualys.gatewayUrl = 'http://localhost:8080/';
    },
    summary: 'qualys gateway: http://localhost:8080 (user svc-rotator)',
  },
  {
    name: 'http://127.0.0.1 gateway (loopback)',
    mutate: (config) => {
      config.qualys.gatewayUrl = 'http://127.0.0.1:8080';
    },
    summary: 'qualys gateway: http://127.0.0.1:8080 (user svc-rotator)',
  },
  {
    name: 'http://[::1] gateway (loopback)',
    mutate: (config) => {
      config.qualys.gatewayUrl = 'http://[::1]:8080';
    },
    summary: 'qualys gateway: http://[::1]:8080 (user svc-rotator)',
  },
  {
    name: 'empty targets list (the schema allows it)',
    mutate: (config) => {
      config.targets = [];
    },
    summary: 'targets: 0 apps across 0 connectors',
  },
  {
    name: 'no targets key at all (defaults to an empty list)',
    mutate: (config) => {
      Reflect.deleteProperty(config, 'targets');
    },
    summary: 'targets: 0 apps across 0 connectors',
  },
  {
    name: 'target naming its tenant by id in upper case',
    mutate: (config) => {
      firstTarget(config).tenant = TENANT_ID.toUpperCase();
    },
    summary: 'targets: 1 apps across 2 connectors',
  },
];

describe('config check on borderline but valid configurations', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'rotator-good-configs-'));
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it.each(GOOD_CASES.map((goodCase, index) => [goodCase.name, goodCase, index] as const))(
    '%s → exit 0',
    async (_name, goodCase, index) => {
      const file = join(root, `good-${index}.yaml`);
      writeFileSync(file, configYaml(goodCase.mutate));
      const run = await runCliCaptured(['config', 'check', '--config', file]);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout.split('\n')).toContain(goodCase.summary);
      expect(run.stdout).not.toContain(BASE_PASSWORD);
    },
  );
});

describe('regressions of fixed bugs', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'rotator-known-bugs-'));
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  // issue-messages.ts: zod 4 drops `issue.input` unless parse is called with reportInput, so every
  // invalid_type issue is described as "is required", even when the key is present with a wrong type.
  it('a present value of the wrong type is not reported as "is required"', async () => {
    const file = join(root, 'wrong-type.yaml');
    writeFileSync(
      file,
      configYaml((config) => {
        config.qualys.username = 12345;
      }),
    );
    const run = await runCliCaptured(['config', 'check', '--config', file]);
    expect(run.code).toBe(78);
    const line = problemLines(run.stderr).find((text) => text.startsWith('  - qualys.username: '));
    expect(line).toBeDefined();
    expect(line).not.toContain('is required');
  });

  // load.ts / cross-checks.ts: cross-checks run only when the schema passes, so a file with a schema
  // problem and a cross-check problem reports only the first; the operator needs a second pass.
  it('schema problems and cross-check problems are reported in one pass', async () => {
    const file = join(root, 'two-kinds.yaml');
    writeFileSync(
      file,
      configYaml((config) => {
        config.metrics = true;
        config.qualys.gatewayUrl = 'http://gateway.qg1.apps.qualys.com';
      }),
    );
    const run = await runCliCaptured(['config', 'check', '--config', file]);
    expect(run.code).toBe(78);
    expect(run.stderr).toContain('is invalid (2 problems):');
  });
});
