import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CHART_README, renderReadme, valueRows } from '../../tools/chart-readme.ts';
import { renderValuesSchema, VALUES_SCHEMA_FILE } from '../../tools/chart-schema.ts';
import { CHART, chartRenderBinary, DEFAULT_INSTALL, EXAMPLE_VALUES, renderChart } from '../support/chart.ts';

/**
 * The chart's values: a schema that refuses unknown keys at every level and stays in step with the
 * rotator's own configuration schema, and a values.yaml whose every key the templates use (and the
 * other way round).
 */

type Node = Record<string, unknown>;
const isNode = (value: unknown): value is Node =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const schema = JSON.parse(readFileSync(VALUES_SCHEMA_FILE, 'utf8')) as Node;
const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Node;

/** Every sub-schema with its JSON pointer, through properties, items, unions and additionalProperties. */
function* subSchemas(node: Node, pointer = '#'): Generator<[string, Node]> {
  yield [pointer, node];
  const properties = node['properties'];
  if (isNode(properties)) {
    for (const [key, child] of Object.entries(properties)) {
      if (isNode(child)) yield* subSchemas(child, `${pointer}/properties/${key}`);
    }
  }
  for (const keyword of ['items', 'additionalProperties']) {
    const child = node[keyword];
    if (isNode(child)) yield* subSchemas(child, `${pointer}/${keyword}`);
  }
  for (const keyword of ['oneOf', 'anyOf', 'allOf']) {
    const members = node[keyword];
    if (Array.isArray(members)) {
      for (const [index, member] of members.entries()) {
        if (isNode(member)) yield* subSchemas(member, `${pointer}/${keyword}/${index}`);
      }
    }
  }
}

describe('values.schema.json', () => {
  it('refuses unknown keys at every level (additionalProperties on every object)', () => {
    const open = [...subSchemas(schema)]
      .filter(([, node]) => node['type'] === 'object' || isNode(node['properties']))
      .filter(
        ([, node]) => node['additionalProperties'] === undefined || node['additionalProperties'] === true,
      )
      .map(([pointer]) => pointer);
    expect(open).toEqual([]);
  });

  it("has a `config` generated from the rotator's configuration schema (npm run chart:schema)", () => {
    const current = readFileSync(VALUES_SCHEMA_FILE, 'utf8');
    expect(renderValuesSchema(current)).toBe(current);
    const config = (schema['properties'] as Node)['config'] as Node;
    expect(Object.keys(config['properties'] as Node)).not.toContain('http');
  });

  it('accepts values.yaml and every example values file (the renderer validates against the schema)', async () => {
    await chartRenderBinary();
    const shipped = readdirSync(join(CHART, 'examples')).map((file) => `examples/${file}`);
    expect(shipped.sort()).toEqual([...EXAMPLE_VALUES].sort());
    for (const file of shipped) {
      const render = await renderChart([file]);
      expect(render.stderr, file).toBe('');
    }
    const defaults = await renderChart([], DEFAULT_INSTALL);
    expect(defaults.stderr).toBe('');
  }, 300_000);
});

/** `.Values.a.b` paths the templates read (`$.Values` included). */
function templatePaths(): Set<string> {
  const found = new Set<string>();
  const dir = join(CHART, 'templates');
  for (const file of readdirSync(dir)) {
    const text = readFileSync(join(dir, file), 'utf8');
    for (const match of text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) {
      found.add((match[1] ?? '').slice(1));
    }
    // `with .Values.x` blocks read `.y` as .Values.x.y: follow them one level, as the templates use them.
    for (const block of text.matchAll(
      /\{\{-? with \.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+) -?\}\}([\s\S]*?)\{\{-? end -?\}\}\n\{\{-? end/g,
    )) {
      const base = (block[1] ?? '').slice(1);
      for (const inner of (block[2] ?? '').matchAll(
        /(?<![\w$)])\.([a-z][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)/g,
      )) {
        found.add(`${base}.${inner[1] ?? ''}`);
      }
    }
  }
  return found;
}

/** The paths of values.yaml: every key, with the leaves (scalars, lists, empty maps) marked. */
function valuePaths(node: Node, prefix = ''): { all: Set<string>; leaves: Set<string> } {
  const all = new Set<string>();
  const leaves = new Set<string>();
  for (const [key, child] of Object.entries(node)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    all.add(path);
    if (isNode(child) && Object.keys(child).length > 0) {
      const nested = valuePaths(child, path);
      nested.all.forEach((entry) => all.add(entry));
      nested.leaves.forEach((entry) => leaves.add(entry));
    } else {
      leaves.add(path);
    }
  }
  return { all, leaves };
}

describe('values.yaml and the templates', () => {
  const used = templatePaths();
  const { all, leaves } = valuePaths(values);

  it('reads only values that values.yaml defines', () => {
    const undefinedPaths = [...used].filter((path) => !all.has(path));
    expect(undefinedPaths).toEqual([]);
  });

  it('uses every value that values.yaml defines', () => {
    // A value is used when a template reads it or a map that holds it (`toYaml .Values.config`).
    const isUsed = (leaf: string) => [...used].some((path) => leaf === path || leaf.startsWith(`${path}.`));
    expect([...leaves].filter((leaf) => !isUsed(leaf))).toEqual([]);
  });

  it('finds the paths it checks (the scan itself works)', () => {
    expect(used.has('replicaCount')).toBe(true);
    expect(used.has('metrics.prometheusRule.secretExpiry.days')).toBe(true);
    expect(used.has('networkPolicy.redis.port')).toBe(true);
    expect(leaves.has('probes.startup.failureThreshold')).toBe(true);
  });
});

describe('the chart README', () => {
  const text = readFileSync(join(CHART, 'values.yaml'), 'utf8');

  it('documents every value of values.yaml (npm run chart:readme)', () => {
    const readme = readFileSync(CHART_README, 'utf8');
    expect(renderReadme(readme, text)).toBe(readme);
    const { leaves } = valuePaths(values);
    const documented = new Set(valueRows(text).map((row) => row.key));
    expect([...leaves].filter((leaf) => !documented.has(leaf))).toEqual([]);
  });

  it("has a description for every value, its own or its section's", () => {
    const rows = valueRows(text);
    const described = (key: string): boolean => {
      const row = rows.find((entry) => entry.key === key);
      if (row === undefined) return false;
      if (row.description !== '' && !row.description.startsWith('See ')) return true;
      return row.description.startsWith('See ') && described(row.description.slice(4, -1));
    };
    const leaves = rows.filter((row) => row.defaultValue !== undefined);
    expect(leaves.filter((row) => !described(row.key)).map((row) => row.key)).toEqual([]);
  });
});
