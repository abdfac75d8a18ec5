import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.ts';
import { formatDurationMs, MAX_DURATION_MS, parseDurationMs } from '../../src/config/duration.ts';
import { pathToEnvName } from '../../src/config/env-overrides.ts';
import { loadConfig, parseConfig } from '../../src/config/load.ts';
import type { RotatorConfig } from '../../src/config/types.ts';
import { baseConfig, type ConfigDocument } from '../unit/config/config-builder.ts';
import { expectNoPrototypePollution, params, replaceAt, withinBudget } from '../support/property.ts';

/**
 * The configuration loader on hostile input: any YAML text, any document, any environment. It
 * returns a frozen configuration or throws one `ConfigError`, within a time budget, without
 * touching `Object.prototype`; its errors name the field and never repeat a configured value.
 */

expectNoPrototypePollution();

// Relative file names in generated documents resolve here: an empty folder, nothing to find.
const baseDir = mkdtempSync(join(tmpdir(), 'rotator-config-property-'));
afterAll(() => rmSync(baseDir, { recursive: true, force: true }));

type Env = Record<string, string>;

/** Loads within the budget: the configuration, or the ConfigError; any other throw fails the property. */
function load(text: string, env: Env = {}): { config: RotatorConfig } | { error: ConfigError } {
  // A load slower than 500 ms is a hang in the making (a quadratic regex, an unbounded list).
  return withinBudget(
    () => {
      try {
        return { config: parseConfig(text, 'property.yaml', env, baseDir) };
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        return { error };
      }
    },
    500,
    'one load',
  );
}

function expectFrozen(value: unknown): void {
  if (value === null || typeof value !== 'object') return;
  expect(Object.isFrozen(value)).toBe(true);
  for (const child of Object.values(value)) expectFrozen(child);
}

function expectWellFormed(settled: { config: RotatorConfig } | { error: ConfigError }): void {
  if ('config' in settled) {
    expectFrozen(settled.config);
    return;
  }
  expect(settled.error.code).toBe('ROT_ERR_CONFIG_INVALID');
  expect(settled.error.problems.length).toBeGreaterThan(0);
  for (const problem of settled.error.problems) {
    expect(typeof problem.path).toBe('string');
    expect(typeof problem.message).toBe('string');
  }
}

const KEYS = [
  'qualys',
  'azure',
  'targets',
  'rotation',
  'redis',
  'worker',
  'http',
  'logging',
  'gatewayUrl',
  'username',
  'password',
  'passwordFile',
  'tenants',
  'id',
  'auth',
  'kind',
  'appId',
  'connectors',
  'interval',
  'url',
  'port',
  'keyPrefix',
];
const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'length', '<<'];
const key = fc.oneof(
  fc.constantFrom(...KEYS),
  fc.constantFrom(...HOSTILE_KEYS),
  fc.string({ unit: 'binary', maxLength: 10 }),
);
const scalar = fc.oneof(
  fc.constantFrom(null, true, 0, -0, 1e308, -1e308, 5e-324, Number.MAX_SAFE_INTEGER + 2, 65_536),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
  fc.constantFrom(
    '90d',
    '1h30m',
    '0s',
    '3651d',
    '1d1d',
    '',
    ' ',
    '~',
    'null',
    '.inf',
    '.nan',
    '0x1F',
    '1e999',
  ),
  fc.constantFrom(
    'https://gateway.example',
    'redis://:%E0%A4%A@localhost',
    'http://[zz]/',
    '0 * * * *',
    'UTC',
  ),
  fc.uuid(),
  fc.integer(),
  fc.double(),
  fc.string({ unit: 'binary', maxLength: 30 }),
);
/** Any document, with keys as hostile as YAML allows and numbers as JSON does not. */
const { value: anyDocument } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.array(fc.tuple(key, tie('value')), { maxLength: 6 }).map((entries) => {
      const object: Record<string, unknown> = {};
      for (const [name, child] of entries) {
        Object.defineProperty(object, name, {
          value: child,
          enumerable: true,
          configurable: true,
          writable: true,
        });
      }
      return object;
    }),
  ),
}));

/** YAML-looking text: the syntax the parser must refuse cleanly, or read. */
const yamlToken = fc.oneof(
  key.map((name) => `${name}: `),
  scalar.map((value) => String(value)),
  fc.constantFrom(
    '- ',
    '? ',
    ': ',
    '&a ',
    '*a',
    '*b',
    '!!binary ',
    '!!set ',
    '!!omap ',
    '!!str ',
    '!!int ',
    '!custom ',
  ),
  fc.constantFrom(
    '{',
    '}',
    '[',
    ']',
    ', ',
    '"',
    "'",
    '|',
    '>',
    '#',
    '%YAML 1.1',
    '%TAG ! tag:x,2026:',
    '---',
    '...',
  ),
  fc.constantFrom('<<: *a', '\t', '\\u0000', '\u0000', '\uFEFF', '\u2028'),
);
const yamlText = fc
  .array(
    fc
      .tuple(fc.nat({ max: 6 }), fc.array(yamlToken, { minLength: 1, maxLength: 5 }))
      .map(([indent, tokens]) => ' '.repeat(indent) + tokens.join('')),
    { maxLength: 12 },
  )
  .map((lines) => lines.join('\n'));

/** Texts no generator reaches by chance: alias bombs, deep nesting, long runs. */
const extremeText = fc.oneof(
  fc.tuple(fc.integer({ min: 4, max: 9 }), fc.integer({ min: 4, max: 10 })).map(([levels, width]) => {
    const lines = ['a0: &a0 [x]'];
    for (let level = 1; level <= levels; level += 1) {
      lines.push(
        `a${level}: &a${level} [${Array.from({ length: width }, () => `*a${level - 1}`).join(', ')}]`,
      );
    }
    return lines.join('\n');
  }),
  fc.integer({ min: 100, max: 3_000 }).map((depth) => `qualys: ${'['.repeat(depth)}${']'.repeat(depth)}`),
  fc.integer({ min: 100, max: 2_000 }).map((depth) => `${'{a: '.repeat(depth)}1${'}'.repeat(depth)}`),
  fc.integer({ min: 1_000, max: 30_000 }).map((slashes) => {
    const document = baseConfig();
    document.qualys.gatewayUrl = `https://gateway.example/${'/'.repeat(slashes)}x`;
    return stringify(document);
  }),
  fc.integer({ min: 10_000, max: 100_000 }).map((length) => `qualys:\n  username: ${'u'.repeat(length)}\n`),
);

describe('loadConfig on any text and any document', () => {
  it('gives a frozen configuration or a ConfigError for any text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          { weight: 2, arbitrary: fc.string({ unit: 'binary' }) },
          { weight: 6, arbitrary: yamlText },
          { weight: 1, arbitrary: extremeText },
        ),
        (text) => {
          expectWellFormed(load(text));
        },
      ),
      params(300, 2_500),
    );
  });

  it('gives a frozen configuration or a ConfigError for any document', () => {
    fc.assert(
      fc.property(anyDocument, (document) => {
        expectWellFormed(load(stringify(document)));
      }),
      params(300, 2_500),
    );
  });

  it('gives a frozen configuration or a ConfigError for any change to a valid document', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { minLength: 1, maxLength: 5 }), anyDocument, (path, replacement) => {
        const document = replaceAt(baseConfig(), path, replacement);
        expectWellFormed(load(stringify(document)));
      }),
      params(300, 2_500),
    );
  });

  it('loads the valid document it is given', () => {
    expect('config' in load(stringify(baseConfig()))).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// Environment overrides.

const SEGMENTS = [
  'QUALYS',
  'AZURE',
  'TARGETS',
  'REDIS',
  'HTTP',
  'GATEWAY_URL',
  'PASSWORD',
  'TENANTS',
  'AUTH',
  'CLIENT_SECRET',
  'APP_ID',
  'CONNECTORS',
  'PORT',
  '0',
  '1',
  '2',
  '999',
  '99999999',
  '99999999999999999999999',
  'LENGTH',
  'CONSTRUCTOR',
  'PROTOTYPE',
  'TO_STRING',
  'HAS_OWN_PROPERTY',
  'PROTO',
  'POLLUTED',
];
const envName = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .array(fc.constantFrom(...SEGMENTS), { minLength: 1, maxLength: 5 })
      .map((parts) => `ROTATOR_${parts.join('__')}`),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }).map((text) => `ROTATOR_${text}`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'ROTATOR___PROTO____POLLUTED',
      'ROTATOR_CONSTRUCTOR__PROTOTYPE__POLLUTED',
      'ROTATOR_SERVICE_HOST',
      'ROTATOR_CONFIG',
    ),
  },
);
const envValue = fc.oneof(
  scalar.map((value) => String(value)),
  fc.string({ maxLength: 20 }),
);
const env = fc.dictionary(envName, envValue, { maxKeys: 5 });

describe('loadConfig with any environment overrides', () => {
  it('gives a frozen configuration or a ConfigError, and never pollutes a prototype', () => {
    fc.assert(
      fc.property(env, fc.boolean(), (variables, withTargets) => {
        const document: ConfigDocument = baseConfig();
        if (!withTargets) document.targets = [];
        expectWellFormed(load(stringify(document), variables));
      }),
      params(400, 2_500),
    );
  });

  it('regression: a list indexed far past its end is a ConfigError, not a list of a hundred million holes', () => {
    // Found by the override property: the loader ran out of memory (FATAL ERROR: heap limit).
    const settled = load(stringify(baseConfig()), { ROTATOR_TARGETS__99999999__APP_ID: 'x' });
    expect('error' in settled && settled.error.problems.map((problem) => problem.path)).toEqual([
      'ROTATOR_TARGETS__99999999__APP_ID',
    ]);
  });

  it('regression: a list indexed by a name (its length) is a ConfigError, not a RangeError', () => {
    // Found by the override property: ROTATOR_TARGETS__LENGTH=x set targets.length = "x".
    for (const [name, value] of [
      ['ROTATOR_TARGETS__LENGTH', 'x'],
      ['ROTATOR_TARGETS__LENGTH', '0'],
      ['ROTATOR_TARGETS__PUSH__X', '1'],
    ] as const) {
      const settled = load(stringify(baseConfig()), { [name]: value });
      expect('error' in settled && settled.error.problems.map((problem) => problem.path)).toEqual([name]);
    }
  });
});

describe('loadConfig: regressions the text properties found', () => {
  it('an alias bomb is a ConfigError, not a ReferenceError', () => {
    const lines = ['a0: &a0 [x]'];
    for (let level = 1; level <= 8; level += 1)
      lines.push(`a${level}: &a${level} [${`*a${level - 1}, `.repeat(9)}*a${level - 1}]`);
    const settled = load(lines.join('\n'));
    expect('error' in settled && settled.error.problems[0]?.path).toBe('(yaml)');
  });

  it('a stray % in the Redis URL password is a ConfigError, not a URIError', () => {
    const document = baseConfig();
    document.redis = { url: 'redis://:50%off@localhost:6379' };
    const settled = load(stringify(document));
    expect('error' in settled && settled.error.problems.map((problem) => problem.path)).toEqual([
      'redis.url',
    ]);
    expect('error' in settled && settled.error.message).not.toContain('50%off');
  });

  it('an object with a length key where text or a list belongs is a ConfigError, not a TypeError', () => {
    // Found by the changed-document property: zod ran its length check on {length: {toString: '90d'}}
    // after the type check had failed, and comparing that length threw out of safeParse.
    const document = baseConfig();
    document.qualys.username = { length: { toString: '90d' } };
    document.azure.tenants = { length: { toString: 1 } } as unknown as Record<string, unknown>[];
    const settled = load(stringify(document));
    expect('error' in settled && settled.error.problems.map((problem) => problem.path)).toEqual([
      'qualys.username',
      'azure.tenants',
    ]);
  });

  it('a URL with a long run of slashes loads in linear time', () => {
    // Found by the time budget: /\/+$/ backtracks quadratically (40 000 slashes took 2 s).
    const document = baseConfig();
    document.qualys.gatewayUrl = `https://gateway.example/${'/'.repeat(200_000)}x`;
    const settled = load(stringify(document));
    expect('config' in settled && settled.config.qualys.gatewayUrl.endsWith('/x')).toBe(true);
  });

  it('a secret file that is a device, not a file, is a ConfigError instead of a read that never ends', () => {
    const document = baseConfig();
    delete document.qualys.password;
    document.qualys.passwordFile = '/dev/zero';
    const settled = load(stringify(document));
    expect('error' in settled && settled.error.problems.map((problem) => problem.path)).toEqual([
      'qualys.passwordFile',
    ]);
    expect(() => loadConfig({ path: '/dev/zero', env: {} })).toThrow(ConfigError);
  });
});

// ---------------------------------------------------------------------------------------------
// What errors say: the path of the field, never the value.

/** Leaves of the base document, by path, and where the loader reports a wrong value put there. */
const LEAVES: readonly { readonly path: readonly (string | number)[]; readonly reportedAt: string }[] = [
  { path: ['qualys', 'gatewayUrl'], reportedAt: 'qualys.gatewayUrl' },
  { path: ['qualys', 'username'], reportedAt: 'qualys.username' },
  { path: ['qualys', 'password'], reportedAt: 'qualys.password' },
  { path: ['qualys', 'http', 'connectTimeout'], reportedAt: 'qualys.http.connectTimeout' },
  { path: ['qualys', 'http', 'maxAttempts'], reportedAt: 'qualys.http.maxAttempts' },
  { path: ['azure', 'cloud'], reportedAt: 'azure.cloud' },
  { path: ['azure', 'readinessTimeout'], reportedAt: 'azure.readinessTimeout' },
  { path: ['azure', 'tenants', 0, 'id'], reportedAt: 'azure.tenants[0].id' },
  { path: ['azure', 'tenants', 0, 'name'], reportedAt: 'azure.tenants[0].name' },
  { path: ['targets', 0, 'appId'], reportedAt: 'targets[0].appId' },
  { path: ['targets', 0, 'tenant'], reportedAt: 'targets[0].tenant' },
  { path: ['targets', 0, 'connectors', 1], reportedAt: 'targets[0].connectors[1]' },
  { path: ['rotation', 'interval'], reportedAt: 'rotation.interval' },
  { path: ['rotation', 'keepPrevious'], reportedAt: 'rotation.keepPrevious' },
  { path: ['rotation', 'schedule'], reportedAt: 'rotation.schedule' },
  { path: ['rotation', 'timeZone'], reportedAt: 'rotation.timeZone' },
  { path: ['redis', 'url'], reportedAt: 'redis.url' },
  { path: ['redis', 'keyPrefix'], reportedAt: 'redis.keyPrefix' },
  { path: ['logging', 'level'], reportedAt: 'logging.level' },
  { path: ['worker', 'concurrency'], reportedAt: 'worker.concurrency' },
  { path: ['http', 'port'], reportedAt: 'http.port' },
];

function setAt(document: ConfigDocument, path: readonly (string | number)[], value: unknown): void {
  let node = document as unknown as Record<string | number, unknown>;
  path.slice(0, -1).forEach((segment) => {
    node[segment] ??= {};
    node = node[segment] as Record<string | number, unknown>;
  });
  node[path[path.length - 1]!] = value;
}

/** Secret-looking text: what an operator might paste into the wrong field. */
const secretValue = fc
  .tuple(fc.constantFrom('S3cr3t~', 'pw-', 'eyJ', 'Xk8~Q.'), fc.stringMatching(/^[A-Za-z0-9~._-]{16,40}$/))
  .map(([prefix, rest]) => prefix + rest);

describe('configuration errors', () => {
  it('name the path of a field given a value of the wrong type', () => {
    const wrongType = fc.constantFrom<unknown>({}, [], { nested: { deeper: 1 } }, [1, 2]);
    fc.assert(
      fc.property(fc.constantFrom(...LEAVES), wrongType, (leaf, value) => {
        const document = baseConfig();
        setAt(document, leaf.path, value);
        const settled = load(stringify(document));
        expect('error' in settled).toBe(true);
        if ('error' in settled) {
          expect(settled.error.problems.map((problem) => problem.path)).toContain(leaf.reportedAt);
        }
      }),
      params(150, 2_500),
    );
  });

  it('never repeat a secret-looking value, wherever it was put, in the file or in the environment', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...LEAVES),
        secretValue,
        fc.boolean(),
        fc.constantFrom('', 'https://user:', 'redis://:', 'not a url '),
        fc.constantFrom('schema', 'cross-check', 'none'),
        (leaf, secret, throughEnv, prefix, otherProblem) => {
          const document = baseConfig();
          // Another problem elsewhere, so that a valid placement still ends in an error message: one
          // the schema finds, or one of the checks that run after it (with their own messages).
          if (otherProblem === 'schema') document.rotation = { keepPrevious: 'many' };
          if (otherProblem === 'cross-check') document.rotation = { interval: '90d', secretLifetime: '30d' };
          const value = `${prefix}${secret}${prefix === '' ? '' : '@host'}`;
          const variables: Env = {};
          if (throughEnv) {
            variables[pathToEnvName(leaf.path)] = value;
          } else {
            setAt(document, leaf.path, value);
          }
          const settled = load(stringify(document), variables);
          if (!('error' in settled)) return;
          expect(settled.error.message).not.toContain(secret);
          for (const problem of settled.error.problems) expect(problem.message).not.toContain(secret);
          expect(JSON.stringify(settled.error.problems)).not.toContain(secret);
        },
      ),
      params(200, 2_500),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Durations.

describe('parseDurationMs', () => {
  it('gives a whole number of ms from 0 to the maximum, or undefined, for any text', () => {
    const durationLike = fc
      .array(
        fc.tuple(
          fc.oneof(fc.nat().map(String), fc.constantFrom('1.5', '0.0001', '9'.repeat(400), '', '-1', '1e3')),
          fc.constantFrom('ms', 's', 'm', 'h', 'd', 'w', 'y', '', ' '),
        ),
        { maxLength: 6 },
      )
      .map((parts) => parts.map(([count, unit]) => count + unit).join(''));
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), durationLike), (text) => {
        const ms = withinBudget(() => parseDurationMs(text), 500);
        if (ms === undefined) return;
        expect(Number.isSafeInteger(ms)).toBe(true);
        expect(ms).toBeGreaterThanOrEqual(0);
        expect(ms).toBeLessThanOrEqual(MAX_DURATION_MS);
      }),
      params(500, 2_500),
    );
  });

  it('reads back what formatDurationMs writes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_DURATION_MS }), (ms) => {
        expect(parseDurationMs(formatDurationMs(ms))).toBe(ms);
      }),
      params(500, 2_500),
    );
  });

  it('adds up units written from the largest to the smallest', () => {
    const UNITS = [
      ['w', 604_800_000],
      ['d', 86_400_000],
      ['h', 3_600_000],
      ['m', 60_000],
      ['s', 1_000],
      ['ms', 1],
    ] as const;
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.nat({ max: 50 }), { nil: undefined }), { minLength: 6, maxLength: 6 }),
        (counts) => {
          const parts = UNITS.flatMap(([unit, size], index) => {
            const count = counts[index];
            return count === undefined ? [] : [{ text: `${count}${unit}`, ms: count * size }];
          });
          fc.pre(parts.length > 0);
          const text = parts.map((part) => part.text).join('');
          const total = parts.reduce((sum, part) => sum + part.ms, 0);
          expect(parseDurationMs(`  ${text} `)).toBe(total <= MAX_DURATION_MS ? total : undefined);
        },
      ),
      params(300, 2_500),
    );
  });
});
