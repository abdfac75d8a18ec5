import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { applyEnvOverrides, envNameToPath, pathToEnvName } from '../../../src/config/env-overrides.ts';
import { loadConfig } from '../../../src/config/load.ts';

const EXAMPLE = fileURLToPath(new URL('../../../examples/rotator.yaml', import.meta.url));

describe('envNameToPath', () => {
  it.each([
    ['ROTATOR_QUALYS__GATEWAY_URL', ['qualys', 'gatewayUrl']],
    ['ROTATOR_QUALYS__PASSWORD', ['qualys', 'password']],
    ['ROTATOR_QUALYS__HTTP__TOKEN_REFRESH_BEFORE_EXPIRY', ['qualys', 'http', 'tokenRefreshBeforeExpiry']],
    ['ROTATOR_AZURE__TENANTS__0__AUTH__CLIENT_SECRET', ['azure', 'tenants', 0, 'auth', 'clientSecret']],
    [
      'ROTATOR_AZURE__TENANTS__12__AUTH__CLIENT_SECRET_FILE',
      ['azure', 'tenants', 12, 'auth', 'clientSecretFile'],
    ],
    ['ROTATOR_TARGETS__1__CONNECTORS__0', ['targets', 1, 'connectors', 0]],
    ['ROTATOR_REDIS__TLS__CA_FILE', ['redis', 'tls', 'caFile']],
    ['ROTATOR_REDIS__SENTINEL__NODES__2__PORT', ['redis', 'sentinel', 'nodes', 2, 'port']],
    ['ROTATOR_ROTATION__RETIRE_UNMANAGED_KEYS', ['rotation', 'retireUnmanagedKeys']],
    ['ROTATOR_FOO', ['foo']],
  ] as const)('%s → %j', (envName, path) => {
    expect(envNameToPath(envName)).toEqual(path);
  });

  it('gives an empty segment for a doubled separator (which the loader reports as malformed)', () => {
    expect(envNameToPath('ROTATOR_QUALYS____USERNAME')).toEqual(['qualys', '', 'username']);
  });
});

describe('pathToEnvName', () => {
  it.each([
    [['qualys', 'gatewayUrl'], 'ROTATOR_QUALYS__GATEWAY_URL'],
    [['qualys', 'http', 'tokenRefreshBeforeExpiry'], 'ROTATOR_QUALYS__HTTP__TOKEN_REFRESH_BEFORE_EXPIRY'],
    [['azure', 'tenants', 0, 'auth', 'clientSecret'], 'ROTATOR_AZURE__TENANTS__0__AUTH__CLIENT_SECRET'],
    [
      ['azure', 'tenants', 3, 'auth', 'certificatePasswordFile'],
      'ROTATOR_AZURE__TENANTS__3__AUTH__CERTIFICATE_PASSWORD_FILE',
    ],
    [['redis', 'sentinel', 'masterName'], 'ROTATOR_REDIS__SENTINEL__MASTER_NAME'],
    [['redis', 'keyPrefix'], 'ROTATOR_REDIS__KEY_PREFIX'],
  ] as const)('%j → %s', (path, envName) => {
    expect(pathToEnvName(path)).toBe(envName);
  });

  // Every key of the schema that a variable can reach, so a new camelCase key that does not survive
  // the round trip shows up here.
  it.each([
    ['qualys', 'http', 'connectTimeout'],
    ['qualys', 'http', 'maxThrottleWait'],
    ['qualys', 'passwordFile'],
    ['azure', 'readinessTimeout'],
    ['azure', 'authorityHost'],
    ['azure', 'graphEndpoint'],
    ['azure', 'tenants', 0, 'auth', 'tokenFilePath'],
    ['azure', 'tenants', 0, 'auth', 'sendCertificateChain'],
    ['targets', 4, 'objectId'],
    ['rotation', 'secretLifetime'],
    ['rotation', 'rotateBeforeExpiry'],
    ['rotation', 'timeZone'],
    ['redis', 'tls', 'rejectUnauthorized'],
    ['redis', 'cluster', 'nodes', 1, 'host'],
    ['logging', 'level'],
  ])('round trip %s.%s…', (...path: (string | number)[]) => {
    expect(envNameToPath(pathToEnvName(path))).toEqual(path);
  });
});

describe('applyEnvOverrides', () => {
  it('sets values at their paths, creating objects and lists as needed', () => {
    const document: Record<string, unknown> = { qualys: { username: 'svc' } };
    const { overrides, problems } = applyEnvOverrides(document, {
      ROTATOR_QUALYS__USERNAME: 'other',
      ROTATOR_QUALYS__HTTP__MAX_ATTEMPTS: '7',
      ROTATOR_ROTATION__RETIRE_UNMANAGED_KEYS: 'true',
      ROTATOR_TARGETS__0__CONNECTORS__1: 'c-1',
    });
    expect(problems).toEqual([]);
    expect(document).toEqual({
      qualys: { username: 'other', http: { maxAttempts: '7' } },
      rotation: { retireUnmanagedKeys: 'true' },
      targets: [{ connectors: [undefined, 'c-1'] }],
    });
    expect(overrides.map((override) => override.envName)).toEqual([
      'ROTATOR_QUALYS__HTTP__MAX_ATTEMPTS',
      'ROTATOR_QUALYS__USERNAME',
      'ROTATOR_ROTATION__RETIRE_UNMANAGED_KEYS',
      'ROTATOR_TARGETS__0__CONNECTORS__1',
    ]);
    expect(overrides[3]?.path).toEqual(['targets', 0, 'connectors', 1]);
  });

  it('keeps every value as text, for the schema to read numbers and booleans from', () => {
    const document: Record<string, unknown> = {};
    applyEnvOverrides(document, {
      ROTATOR_A__NUMBER: '12',
      ROTATOR_A__FLOAT: '1.5',
      ROTATOR_A__FALSE: 'false',
      ROTATOR_A__NULL: 'null',
      ROTATOR_A__LIST: '[1, 2]',
      ROTATOR_A__MAP: 'a: b',
      ROTATOR_A__TEXT: 'hello world',
      ROTATOR_A__CRON: '*/5 * * * *',
    });
    expect(document).toEqual({
      a: {
        number: '12',
        float: '1.5',
        false: 'false',
        null: 'null',
        list: '[1, 2]',
        map: 'a: b',
        text: 'hello world',
        cron: '*/5 * * * *',
      },
    });
  });

  it('keeps values of secret keys (password, secret, token) as raw text', () => {
    const document: Record<string, unknown> = {};
    applyEnvOverrides(document, {
      ROTATOR_QUALYS__PASSWORD: '12345',
      ROTATOR_AZURE__TENANTS__0__AUTH__CLIENT_SECRET: 'true',
      ROTATOR_REDIS__SENTINEL__PASSWORD: '0x1F',
      ROTATOR_X__ACCESS_TOKEN: 'null',
      ROTATOR_X__CERTIFICATE_PASSWORD: ' spaced #not-a-comment ',
    });
    expect(document).toEqual({
      qualys: { password: '12345' },
      azure: { tenants: [{ auth: { clientSecret: 'true' } }] },
      redis: { sentinel: { password: '0x1F' } },
      x: { accessToken: 'null', certificatePassword: ' spaced #not-a-comment ' },
    });
  });

  it('ignores ROTATOR_CONFIG, other variables and unset ones', () => {
    const document: Record<string, unknown> = { logging: { level: 'info' } };
    const { overrides, problems } = applyEnvOverrides(document, {
      ROTATOR_CONFIG: '/etc/rotator.yaml',
      PATH: '/usr/bin',
      rotator_logging__level: 'debug',
      ROTATOR_LOGGING__LEVEL: undefined,
    });
    expect(overrides).toEqual([]);
    expect(problems).toEqual([]);
    expect(document).toEqual({ logging: { level: 'info' } });
  });

  it('reports a malformed name and an override inside a scalar, and applies the rest', () => {
    const document: Record<string, unknown> = { qualys: { username: 'svc' } };
    const { overrides, problems } = applyEnvOverrides(document, {
      ROTATOR_QUALYS____USERNAME: 'x',
      ROTATOR_QUALYS__USERNAME__FIRST: 'y',
      ROTATOR_LOGGING__LEVEL: 'warn',
    });
    // Variables are applied in sorted order ("U" sorts before "_").
    expect(problems).toEqual([
      {
        path: 'ROTATOR_QUALYS__USERNAME__FIRST',
        message: 'cannot override inside a value that is not an object or a list in the file',
      },
      {
        path: 'ROTATOR_QUALYS____USERNAME',
        message: 'malformed variable name: segments are separated by "__"',
      },
    ]);
    expect(overrides.map((override) => override.envName)).toEqual(['ROTATOR_LOGGING__LEVEL']);
    expect(document).toEqual({ qualys: { username: 'svc' }, logging: { level: 'warn' } });
  });

  it('cannot reach Object.prototype through a variable name', () => {
    const document: Record<string, unknown> = {};
    const { problems } = applyEnvOverrides(document, {
      ROTATOR_CONSTRUCTOR__PROTOTYPE__POLLUTED: 'yes',
      ROTATOR_TO_STRING__X: 'yes',
    });
    expect(problems.map((problem) => problem.path)).toEqual([
      'ROTATOR_CONSTRUCTOR__PROTOTYPE__POLLUTED',
      'ROTATOR_TO_STRING__X',
    ]);
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('regressions of fixed bugs in environment overrides', () => {
  // Values used to go through the YAML parser, which takes " #" as the start of a comment.
  it('a non-secret value containing " #" is kept whole', () => {
    const config = loadConfig({ path: EXAMPLE, env: { ROTATOR_TARGETS__0__NAME: 'contoso scan #1' } });
    expect(config.targets[0]?.name).toBe('contoso scan #1');
  });

  // The same parser turned a numeric-looking value of a string field into a number.
  it('a numeric-looking username from the environment is accepted as a string', () => {
    const config = loadConfig({ path: EXAMPLE, env: { ROTATOR_QUALYS__USERNAME: '20240101' } });
    expect(config.qualys.username).toBe('20240101');
  });

  it('reads numbers and booleans for the fields that want them', () => {
    const config = loadConfig({
      path: EXAMPLE,
      env: { ROTATOR_ROTATION__KEEP_PREVIOUS: '3', ROTATOR_ROTATION__RETIRE_UNMANAGED_KEYS: 'true' },
    });
    expect(config.rotation.keepPrevious).toBe(3);
    expect(config.rotation.retireUnmanagedKeys).toBe(true);
    expect(() => loadConfig({ path: EXAMPLE, env: { ROTATOR_ROTATION__KEEP_PREVIOUS: 'two' } })).toThrow(
      /rotation\.keepPrevious: .*\(set by ROTATOR_ROTATION__KEEP_PREVIOUS\)/,
    );
  });

  // Kubernetes injects ROTATOR_SERVICE_HOST, ROTATOR_PORT_… for a Service named "rotator".
  it('ignores the service-link variables Kubernetes injects', () => {
    const config = loadConfig({
      path: EXAMPLE,
      env: {
        ROTATOR_SERVICE_HOST: '10.0.0.1',
        ROTATOR_SERVICE_PORT: '8080',
        ROTATOR_SERVICE_PORT_HTTP: '8080',
        ROTATOR_PORT: 'tcp://10.0.0.1:8080',
        ROTATOR_PORT_8080_TCP_ADDR: '10.0.0.1',
      },
    });
    expect(config.targets).toHaveLength(2);
  });

  it('blames an environment variable only for problems at or under the path it set', () => {
    let message = '';
    try {
      loadConfig({
        path: EXAMPLE,
        env: {
          ROTATOR_REDIS__KEY_PREFIX: '{x}',
          ROTATOR_REDIS__SENTINEL__MASTER_NAME: 'm',
          ROTATOR_REDIS__SENTINEL__NODES__0__HOST: 'h',
          ROTATOR_REDIS__SENTINEL__NODES__0__PORT: '26379',
          ROTATOR_REDIS__CLUSTER__NODES__0__HOST: 'h',
          ROTATOR_REDIS__CLUSTER__NODES__0__PORT: '6379',
        },
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^ {2}- redis: set either redis\.sentinel or redis\.cluster, not both$/m);
  });
});
