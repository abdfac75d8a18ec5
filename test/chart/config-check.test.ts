import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  chartRenderBinary,
  DEFAULT_INSTALL,
  EXAMPLE_VALUES,
  findManifest,
  renderChart,
  type Render,
} from '../support/chart.ts';
import { runRotator } from '../support/rotator-process.ts';

/**
 * The configuration each installation would mount passes `rotator config check`: the ConfigMap's YAML,
 * with the files the pod would see (the credentials Secret, extra mounts) laid out under a temporary root.
 */

const roots: string[] = [];
afterAll(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));
beforeAll(async () => {
  await chartRenderBinary();
}, 300_000);

/** Every value of a key ending in `File` in the configuration: the files the pod must provide. */
function filesNamed(node: unknown, found: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((item) => filesNamed(item, found));
  else if (typeof node === 'object' && node !== null) {
    for (const [key, value] of Object.entries(node)) {
      if (key.endsWith('File') && typeof value === 'string') found.push(value);
      else filesNamed(value, found);
    }
  }
  return found;
}

/** Writes the pod's view of the configuration under a temporary root; returns the config file's path. */
function podView(render: Render, omit: readonly string[] = []): string {
  const text = (findManifest(render, 'ConfigMap').data as Record<string, string>)['rotator.yaml'] ?? '';
  const secret = render.manifests.find((manifest) => manifest.kind === 'Secret');
  const data = (secret?.['data'] ?? {}) as Record<string, string>;
  const root = mkdtempSync(join(tmpdir(), 'chart-pod-'));
  roots.push(root);
  let rewritten = text;
  for (const file of filesNamed(parse(text))) {
    expect(file.startsWith('/'), `${file} is absolute`).toBe(true);
    rewritten = rewritten.replaceAll(file, join(root, file));
    if (omit.includes(file)) continue;
    mkdirSync(dirname(join(root, file)), { recursive: true });
    const fromSecret = file.startsWith('/var/run/secrets/rotator/')
      ? data[file.split('/').pop() ?? '']
      : undefined;
    // Credentials from an existingSecret are not in the render: any non-empty content stands in for them.
    const content =
      fromSecret === undefined ? 'mounted-by-kubernetes\n' : Buffer.from(fromSecret, 'base64').toString();
    writeFileSync(join(root, file), content);
  }
  const configFile = join(root, 'etc/rotator/rotator.yaml');
  mkdirSync(dirname(configFile), { recursive: true });
  writeFileSync(configFile, rewritten);
  return configFile;
}

describe('rotator config check on the configuration the chart mounts', () => {
  it('accepts the configuration that values.yaml carries', async () => {
    const render = await renderChart([], DEFAULT_INSTALL);
    const result = await runRotator(['config', 'check', '--config', podView(render)]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('configuration is valid');
    expect(result.code).toBe(0);
  });

  it.each(EXAMPLE_VALUES)('accepts the configuration of %s', async (file) => {
    const render = await renderChart([file]);
    const result = await runRotator(['config', 'check', '--config', podView(render)]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('names the missing file when a credential is not mounted (so the check above can fail)', async () => {
    const render = await renderChart([], DEFAULT_INSTALL);
    const result = await runRotator([
      'config',
      'check',
      '--config',
      podView(render, ['/var/run/secrets/rotator/qualys-password']),
    ]);
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('qualys.passwordFile');
  });
});
