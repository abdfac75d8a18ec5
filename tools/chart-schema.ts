/**
 * Keeps the Helm chart's values.schema.json in step with the rotator's configuration schema: its
 * `config` property is generated from the zod schema, minus what the chart owns (credential files, the
 * `http` section) and minus every inline secret, so a password can never land in a ConfigMap.
 *
 *   node tools/chart-schema.ts          rewrite helm/…/values.schema.json
 *   node tools/chart-schema.ts --check  exit 1 when it is out of date
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configJsonSchema, type JsonSchema } from '../src/config/json-schema.ts';

export const CHART_DIR = join(import.meta.dirname, '../helm/qualys-secret-rotator');
export const VALUES_SCHEMA_FILE = join(CHART_DIR, 'values.schema.json');

/** Keys removed from the rotator's schema, by object path ('*' = every array item or union member). */
const CHART_OWNED: readonly (readonly string[])[] = [
  ['qualys', 'password'],
  ['qualys', 'passwordFile'],
  ['redis', 'password'],
  ['redis', 'passwordFile'],
  ['redis', 'sentinel', 'password'],
  ['azure', 'tenants', '*', 'auth', '*', 'clientSecret'],
  ['azure', 'tenants', '*', 'auth', '*', 'certificatePassword'],
  ['http'],
];

type Node = Record<string, unknown>;

const isNode = (value: unknown): value is Node => typeof value === 'object' && value !== null;

/** The children a path segment leads to: object properties, array items, or union members. */
function children(node: Node, segment: string): Node[] {
  if (segment === '*') {
    const members = [node['items'], ...((node['oneOf'] as unknown[] | undefined) ?? [])];
    return members.filter(isNode);
  }
  const properties = node['properties'];
  const child = isNode(properties) ? properties[segment] : undefined;
  return isNode(child) ? [child] : [];
}

function remove(node: Node, path: readonly string[]): void {
  const [head, ...rest] = path;
  if (head === undefined) return;
  if (rest.length > 0) {
    for (const child of children(node, head)) remove(child, rest);
    return;
  }
  const properties = node['properties'];
  if (isNode(properties)) Reflect.deleteProperty(properties, head);
  if (Array.isArray(node['required'])) node['required'] = node['required'].filter((key) => key !== head);
}

/** The schema of the chart's `config` value. */
export function chartConfigSchema(): JsonSchema {
  const { $schema: _drop, title: _title, ...schema } = structuredClone<Node>(configJsonSchema());
  for (const path of CHART_OWNED) remove(schema, path);
  return {
    ...schema,
    description:
      "The rotator's configuration (examples/rotator.yaml) without credentials and without `http`, which the chart sets.",
  };
}

/** values.schema.json with its `config` property regenerated, as the text to commit. */
export function renderValuesSchema(current: string): string {
  const document = JSON.parse(current) as Node;
  const properties = document['properties'] as Node;
  properties['config'] = chartConfigSchema();
  return `${JSON.stringify(document, null, 2)}\n`;
}

if (import.meta.main) {
  const current = readFileSync(VALUES_SCHEMA_FILE, 'utf8');
  const next = renderValuesSchema(current);
  if (process.argv.includes('--check')) {
    if (next !== current) {
      console.error('values.schema.json is out of date: run npm run chart:schema');
      process.exit(1);
    }
  } else if (next !== current) {
    writeFileSync(VALUES_SCHEMA_FILE, next);
    console.log(`updated ${VALUES_SCHEMA_FILE}`);
  }
}
