import { describe, expect, it } from 'vitest';
import { configJsonSchema } from '../../../src/config/json-schema.ts';
import { runCliCaptured } from '../cli/run-cli.ts';

type Node = Record<string, unknown>;
const at = (value: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((node, key) => (node as Node | undefined)?.[key], value);

describe('the configuration JSON Schema', () => {
  const schema = configJsonSchema();

  it('has every section, strict at the top, with the loader’s required keys', () => {
    expect(Object.keys(at(schema, 'properties') as Node)).toEqual([
      'qualys',
      'azure',
      'targets',
      'rotation',
      'redis',
      'worker',
      'http',
      'logging',
    ]);
    expect(schema['additionalProperties']).toBe(false);
    expect(schema['required']).toEqual(['qualys', 'azure']);
    expect(at(schema, 'properties', 'rotation', 'additionalProperties')).toBe(false);
  });

  it('describes durations and UUIDs as the loader reads them (case-insensitive UUIDs)', () => {
    const duration = new RegExp(
      at(schema, 'properties', 'rotation', 'properties', 'interval', 'pattern') as string,
    );
    for (const text of ['30d', '1h30m', '500ms', '2w']) expect(duration.test(text)).toBe(true);
    for (const text of ['30 days', '', 'd']) expect(duration.test(text)).toBe(false);
    const tenant = at(
      schema,
      'properties',
      'azure',
      'properties',
      'tenants',
      'items',
      'properties',
      'id',
      'pattern',
    );
    const uuid = new RegExp(tenant as string);
    expect(uuid.test('72F988BF-86F1-41AF-91AB-2D7CD011DB47')).toBe(true);
    expect(uuid.test('72f988bf-86f1-41af-91ab')).toBe(false);
  });

  it('`rotator config schema` prints it', async () => {
    const run = await runCliCaptured(['config', 'schema']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(schema);
  });
});
