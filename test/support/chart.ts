import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';

const run = promisify(execFile);

export const REPO = join(import.meta.dirname, '../..');
export const CHART = join(REPO, 'helm/qualys-secret-rotator');

/** A rendered Kubernetes object, as plain data. */
export type Manifest = {
  readonly apiVersion: string;
  readonly kind: string;
  readonly [key: string]: unknown;
} & {
  readonly metadata: { readonly name: string; readonly [key: string]: unknown };
};

export interface Render {
  readonly ok: boolean;
  readonly stdout: string;
  readonly stderr: string;
  readonly manifests: readonly Manifest[];
}

let binary: Promise<string> | undefined;

/**
 * The chart renderer (tools/chart-render: Helm's template engine, functions and schema validation, for
 * machines without helm). `.ci/run` builds it first; a test run without it builds it here, into a
 * temporary name that is then renamed, so parallel test files never see half a binary.
 */
export function chartRenderBinary(): Promise<string> {
  binary ??= (async () => {
    const fromEnv = process.env.CHART_RENDER;
    if (fromEnv !== undefined && existsSync(fromEnv)) return fromEnv;
    const target = join(REPO, '.tmp/bin/chart-render');
    if (existsSync(target)) return target;
    mkdirSync(join(REPO, '.tmp/bin'), { recursive: true });
    const partial = `${target}.${process.pid}`;
    await run('bash', [join(REPO, 'tools/chart-render/build.sh'), partial], { timeout: 300_000 });
    renameSync(partial, target);
    return target;
  })();
  return binary;
}

/**
 * Renders the chart as `helm template` would, with the given values files (paths relative to the chart,
 * or absolute) and then `values` (written to a temporary file, merged last).
 */
export async function renderChart(
  files: readonly string[] = [],
  values?: Readonly<Record<string, unknown>>,
  options: { readonly namespace?: string; readonly name?: string } = {},
): Promise<Render> {
  const args: string[] = [];
  for (const file of files) args.push('-f', file.startsWith('/') ? file : join(CHART, file));
  if (values !== undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'chart-values-'));
    const file = join(dir, 'values.yaml');
    writeFileSync(file, stringify(values));
    args.push('-f', file);
  }
  args.push('--namespace', options.namespace ?? 'security', '--name', options.name ?? 'rotator');
  args.push('--api-versions', 'monitoring.coreos.com/v1', CHART);
  try {
    const { stdout, stderr } = await run(await chartRenderBinary(), args, { maxBuffer: 16 * 1024 * 1024 });
    return { ok: true, stdout, stderr, manifests: parseManifests(stdout) };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    return { ok: false, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '', manifests: [] };
  }
}

export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((document) => document.toJS() as unknown)
    .filter((value): value is Manifest => typeof value === 'object' && value !== null && 'kind' in value);
}

export function findManifest(render: Render, kind: string): Manifest {
  const found = render.manifests.find((manifest) => manifest.kind === kind);
  if (found === undefined) {
    throw new Error(`no ${kind} in the render (kinds: ${render.manifests.map((m) => m.kind).join(', ')})`);
  }
  return found;
}

/** The example values files shipped with the chart, relative to it. */
export const EXAMPLE_VALUES = [
  'examples/minimal.yaml',
  'examples/production.yaml',
  'examples/everything.yaml',
];

/** The least that makes values.yaml render: the Qualys password. */
export const DEFAULT_INSTALL = { qualys: { password: 'chart-test-qualys-password' } } as const;
