import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/config-error.ts';
import { RotatorError, type ErrorKind } from '../../../src/errors/rotator-error.ts';
import { serializeError } from '../../../src/observability/error-serializer.ts';
import { withContext } from '../../../src/observability/logger.ts';
import { REDACTED } from '../../../src/observability/redaction.ts';
import { Secret } from '../../../src/util/secret.ts';
import { captureLogger, type CapturedLogger } from '../../support/log-capture.ts';

/** Every secret value any test here logs; no captured line may contain one. */
const SECRETS = {
  password: 'S3cr3t-log-password-unique',
  secretKey: 'S3cr3t-log-secret-key-unique',
  clientSecret: 'S3cr3t-log-client-secret-unique',
  token: 'S3cr3t-log-token-unique',
  authorization: 'Bearer S3cr3t-log-authorization-unique',
  secretText: 'S3cr3t-log-secret-text-unique',
  secretObject: 'S3cr3t-log-secret-object-unique',
  body: 'S3cr3t-log-body-unique',
  header: 'S3cr3t-log-header-unique',
  optionsPassword: 'S3cr3t-log-options-password-unique',
  binding: 'S3cr3t-log-binding-unique',
} as const;

function expectNoSecrets(captured: CapturedLogger): void {
  expect(captured.lines.length).toBeGreaterThan(0);
  for (const line of captured.lines) {
    for (const secret of Object.values(SECRETS)) {
      expect(line).not.toContain(secret);
      // Also not a fragment long enough to identify it.
      expect(line).not.toContain(secret.slice(7, 25));
    }
  }
}

/** The only record the logger wrote. */
function onlyRecord(captured: CapturedLogger): Record<string, unknown> {
  const records = captured.records();
  expect(records).toHaveLength(1);
  return records[0]!;
}

class TransientTestError extends RotatorError {
  readonly code = 'ROT_ERR_TEST_TRANSIENT';
  readonly kind: ErrorKind = 'transient';
}

describe('withContext', () => {
  it('child loggers carry rotationId, appId, tenantId, connectorId and step on every line', () => {
    const captured = captureLogger();
    const rotation = withContext(captured.logger, {
      rotationId: 'rot-2024-001',
      appId: 'a2f88fdf-5c1e-4b3a-9a51-0f4a08195669',
      tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
    });
    const step = withContext(rotation, {
      connectorId: '5dab0fb0-3c1d-4f6e-9d8a-08927bc515ec',
      step: 'update-connector',
    });
    rotation.info('rotation started');
    step.warn({ attempt: 2 }, 'connector update retried');

    const [first, second] = captured.records();
    expect(first).toMatchObject({
      level: 'info',
      msg: 'rotation started',
      name: 'rotator',
      service: 'qualys-azure-secret-rotator',
      rotationId: 'rot-2024-001',
      appId: 'a2f88fdf-5c1e-4b3a-9a51-0f4a08195669',
      tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
    });
    expect(first).not.toHaveProperty('connectorId');
    expect(first).not.toHaveProperty('step');
    expect(second).toMatchObject({
      level: 'warn',
      msg: 'connector update retried',
      rotationId: 'rot-2024-001',
      appId: 'a2f88fdf-5c1e-4b3a-9a51-0f4a08195669',
      connectorId: '5dab0fb0-3c1d-4f6e-9d8a-08927bc515ec',
      step: 'update-connector',
      attempt: 2,
    });
    expect(typeof second?.time).toBe('string');
    expect(Number.isNaN(Date.parse(String(second?.time)))).toBe(false);
  });

  it('a later context value replaces an earlier one in the line', () => {
    const captured = captureLogger();
    const first = withContext(captured.logger, { step: 'create-secret' });
    withContext(first, { step: 'verify-secret' }).info('moved on');
    const line = captured.lines[0]!;
    expect(JSON.parse(line)).toMatchObject({ step: 'verify-secret' });
  });

  it('respects the level', () => {
    const captured = captureLogger('info');
    captured.logger.debug('hidden');
    captured.logger.info('shown');
    expect(captured.records().map((record) => record.msg)).toEqual(['shown']);
  });
});

describe('redaction', () => {
  it.each([
    ['password', { password: SECRETS.password }, ['password']],
    ['secretKey', { secretKey: SECRETS.secretKey }, ['secretKey']],
    ['clientSecret', { clientSecret: SECRETS.clientSecret }, ['clientSecret']],
    ['token', { token: SECRETS.token }, ['token']],
    [
      'authorization header',
      { headers: { authorization: SECRETS.authorization } },
      ['headers', 'authorization'],
    ],
    [
      'Authorization header',
      { headers: { Authorization: SECRETS.authorization } },
      ['headers', 'Authorization'],
    ],
    [
      'authorization header of a request',
      { req: { headers: { authorization: SECRETS.authorization } } },
      ['req', 'headers', 'authorization'],
    ],
    ['password 1 level down', { qualys: { password: SECRETS.password } }, ['qualys', 'password']],
    ['token 2 levels down', { a: { b: { token: SECRETS.token } } }, ['a', 'b', 'token']],
    [
      'clientSecret 3 levels down',
      { azure: { tenant: { auth: { clientSecret: SECRETS.clientSecret } } } },
      ['azure', 'tenant', 'auth', 'clientSecret'],
    ],
    [
      'secretText inside a list 2 levels down',
      { app: { passwordCredentials: [{ keyId: 'k1', secretText: SECRETS.secretText }] } },
      ['app', 'passwordCredentials', 0, 'secretText'],
    ],
    ['a response body', { response: { status: 200, body: SECRETS.body } }, ['response', 'body']],
  ] as const)('%s', (_name, fields, path) => {
    const captured = captureLogger();
    captured.logger.info(fields, 'redaction check');
    let value: unknown = onlyRecord(captured);
    for (const segment of path) value = (value as Record<string | number, unknown>)[segment];
    expect(value).toBe(REDACTED);
    expectNoSecrets(captured);
  });

  it('redacts whole appCredentials arrays, top level and nested', () => {
    const credentials = [
      { keyId: 'k1', secretText: SECRETS.secretText, endDateTime: '2030-01-01T00:00:00Z' },
      { keyId: 'k2', secretText: SECRETS.secretText },
    ];
    const captured = captureLogger();
    captured.logger.info(
      { appCredentials: credentials, result: { appCredentials: credentials } },
      'credentials',
    );
    const record = onlyRecord(captured);
    expect(record.appCredentials).toBe(REDACTED);
    expect(record.result).toEqual({ appCredentials: REDACTED });
    expectNoSecrets(captured);
  });

  it('leaves ordinary fields next to a redacted one alone', () => {
    const captured = captureLogger();
    captured.logger.info({ username: 'svc-rotator', password: SECRETS.password, keyId: 'k1' }, 'sign-in');
    expect(onlyRecord(captured)).toMatchObject({ username: 'svc-rotator', password: REDACTED, keyId: 'k1' });
  });

  it('redacts secrets bound into a child logger', () => {
    const captured = captureLogger();
    captured.logger.child({ token: SECRETS.binding, component: 'gateway' }).info('bound');
    expect(onlyRecord(captured)).toMatchObject({ token: REDACTED, component: 'gateway' });
    expectNoSecrets(captured);
  });

  it('logs a Secret object as [REDACTED], whatever its key and however it is formatted', () => {
    const secret = new Secret(SECRETS.secretObject);
    const captured = captureLogger();
    captured.logger.info({ credential: secret, nested: { value: secret } }, 'as a field');
    captured.logger.info('as %s and as %j', secret, secret);
    const [fields, message] = captured.records();
    expect(fields).toMatchObject({ credential: REDACTED, nested: { value: REDACTED } });
    expect(message?.msg).toBe(`as ${REDACTED} and as "${REDACTED}"`);
    expectNoSecrets(captured);
  });
});

describe('errors', () => {
  function failingCall(): Error {
    const root = new ConfigError('rotator.yaml', [{ path: 'qualys.password', message: 'is required' }]);
    const middle = new TransientTestError('gateway token refresh failed', { cause: root });
    return Object.assign(new Error('rotation step failed', { cause: middle }), {
      code: 'E_STEP',
      status: 502,
      body: `{"password":"${SECRETS.body}"}`,
      headers: { 'x-token': SECRETS.header },
      options: { password: SECRETS.optionsPassword },
      response: { data: SECRETS.body },
    });
  }

  it('{ err } keeps type, message, code, status, kind, stack and the cause chain, and nothing else', () => {
    const captured = captureLogger();
    captured.logger.error({ err: failingCall() }, 'step failed');
    const err = onlyRecord(captured).err as Record<string, unknown>;

    expect(Object.keys(err).sort()).toEqual(['cause', 'code', 'message', 'stack', 'status', 'type']);
    expect(err).toMatchObject({
      type: 'Error',
      message: 'rotation step failed',
      code: 'E_STEP',
      status: 502,
    });
    expect(err.stack).toMatch(/^Error: rotation step failed\n\s+at /);

    const middle = err.cause as Record<string, unknown>;
    expect(middle).toMatchObject({
      type: 'TransientTestError',
      message: 'gateway token refresh failed',
      code: 'ROT_ERR_TEST_TRANSIENT',
      kind: 'transient',
    });
    expect(middle.stack).toMatch(/^TransientTestError: gateway token refresh failed\n/);

    const root = middle.cause as Record<string, unknown>;
    expect(root).toMatchObject({
      type: 'ConfigError',
      code: 'ROT_ERR_CONFIG_INVALID',
      kind: 'permanent',
      message: 'configuration rotator.yaml is invalid (1 problem):\n  - qualys.password: is required',
    });
    expect(root).not.toHaveProperty('problems');
    expect(root).not.toHaveProperty('cause');

    for (const extra of ['body', 'headers', 'options', 'response']) expect(err).not.toHaveProperty(extra);
    expectNoSecrets(captured);
  });

  it('an error passed as the first argument or under `error` is serialised the same way', () => {
    const captured = captureLogger();
    captured.logger.error(failingCall(), 'as the object');
    captured.logger.error({ error: failingCall() }, 'under error');
    const [asObject, underError] = captured.records();
    expect(asObject?.msg).toBe('as the object');
    expect(asObject?.err).toMatchObject({ type: 'Error', message: 'rotation step failed', code: 'E_STEP' });
    expect(underError?.error).toMatchObject({
      type: 'Error',
      message: 'rotation step failed',
      code: 'E_STEP',
    });
    for (const record of [asObject?.err, underError?.error]) {
      expect(record).not.toHaveProperty('body');
      expect(record).not.toHaveProperty('options');
      expect(record).not.toHaveProperty('headers');
    }
    expectNoSecrets(captured);
  });

  it('follows at most 3 causes', () => {
    let error = new Error('cause 4');
    for (const message of ['cause 3', 'cause 2', 'cause 1', 'top'])
      error = new Error(message, { cause: error });
    const serialized = serializeError(error);
    const messages: string[] = [];
    for (let node: typeof serialized | undefined = serialized; node; node = node.cause)
      messages.push(node.message);
    expect(messages).toEqual(['top', 'cause 1', 'cause 2', 'cause 3']);
  });

  it('describes a thrown non-error without echoing it', () => {
    const captured = captureLogger();
    captured.logger.error({ err: SECRETS.token }, 'a string was thrown');
    captured.logger.error(
      { err: new Error('wrapped', { cause: { password: SECRETS.password } }) },
      'odd cause',
    );
    const [thrownString, oddCause] = captured.records();
    expect(thrownString?.err).toEqual({ type: 'string', message: 'non-error value thrown' });
    expect((oddCause?.err as Record<string, unknown>).cause).toEqual({
      type: 'object',
      message: 'non-error value thrown',
    });
    expectNoSecrets(captured);
  });
});
