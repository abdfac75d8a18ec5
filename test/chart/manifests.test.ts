import {
  PrometheusRule,
  ServiceMonitor,
} from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseDurationMs } from '../../src/config/duration.ts';
import { RotatorMetrics } from '../../src/observability/metrics.ts';
import { finalStage, parseDockerfile } from '../support/dockerfile.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  chartRenderBinary,
  DEFAULT_INSTALL,
  EXAMPLE_VALUES,
  findManifest,
  renderChart,
  REPO,
  type Render,
} from '../support/chart.ts';

/**
 * The chart rendered as `helm template` renders it (tools/chart-render), every manifest validated against
 * the Kubernetes and Prometheus Operator schemas, and what an operator relies on checked field by field.
 */

const MODELS: Readonly<Record<string, new (data: never) => { validate(): void }>> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
};

type Obj = Record<string, unknown>;
const at = (value: unknown, ...path: (string | number)[]): unknown =>
  path.reduce<unknown>((node, key) => (node as Record<string | number, unknown> | undefined)?.[key], value);

interface Container {
  name: string;
  args: string[];
  ports: { name: string; containerPort: number }[];
  livenessProbe: Obj;
  readinessProbe: Obj;
  startupProbe: Obj;
  resources: { requests: Obj; limits: Obj };
  securityContext: Obj;
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
  env?: { name: string; value?: string }[];
}

const podSpec = (render: Render): Obj =>
  at(findManifest(render, 'Deployment'), 'spec', 'template', 'spec') as Obj;
const container = (render: Render): Container =>
  (podSpec(render)['containers'] as Container[])[0] as Container;
const configOf = (render: Render): Obj =>
  parse(at(findManifest(render, 'ConfigMap'), 'data', 'rotator.yaml') as string) as Obj;

function validateAll(render: Render): void {
  expect(render.manifests.length).toBeGreaterThan(0);
  for (const manifest of render.manifests) {
    const Model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
    expect(Model, `no schema for ${manifest.apiVersion} ${manifest.kind}`).toBeDefined();
    if (Model !== undefined) expect(() => new Model(manifest as never).validate()).not.toThrow();
    expect(manifest.metadata.name.length).toBeLessThanOrEqual(63);
  }
}

beforeAll(async () => {
  await chartRenderBinary();
}, 300_000);

describe('the chart with its default values', () => {
  let render: Render;
  beforeAll(async () => {
    render = await renderChart([], DEFAULT_INSTALL);
    expect(render.stderr).toBe('');
    expect(render.ok).toBe(true);
  });

  it('renders manifests that the Kubernetes schemas accept', () => {
    validateAll(render);
    expect(render.manifests.map((manifest) => manifest.kind).sort()).toEqual([
      'ConfigMap',
      'Deployment',
      'PodDisruptionBudget',
      'Secret',
      'Service',
      'ServiceAccount',
    ]);
  });

  it('runs two replicas with a rolling update that never drops below the desired count', () => {
    const spec = at(findManifest(render, 'Deployment'), 'spec') as Obj;
    expect(spec['replicas']).toBe(2);
    expect(spec['strategy']).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
    });
    expect(at(findManifest(render, 'PodDisruptionBudget'), 'spec', 'maxUnavailable')).toBe(1);
  });

  it('gives the worker longer than its shutdown timeout before SIGKILL', () => {
    const grace = podSpec(render)['terminationGracePeriodSeconds'] as number;
    const shutdown = at(configOf(render), 'worker', 'shutdownTimeout') as string;
    expect(grace * 1000).toBeGreaterThan((parseDurationMs(shutdown) ?? Infinity) + 5_000);
  });

  it('probes /livez and /readyz on the named http port, which the config listens on', () => {
    const main = container(render);
    expect(main.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
    expect(at(main.livenessProbe, 'httpGet')).toEqual({ path: '/livez', port: 'http' });
    expect(at(main.readinessProbe, 'httpGet')).toEqual({ path: '/readyz', port: 'http' });
    expect(at(main.startupProbe, 'httpGet')).toEqual({ path: '/livez', port: 'http' });
    expect(configOf(render)['http']).toEqual({ host: '0.0.0.0', port: 8080 });
    const service = findManifest(render, 'Service');
    expect(at(service, 'spec', 'ports', 0)).toMatchObject({ name: 'http', targetPort: 'http' });
  });

  it('sets non-empty resources', () => {
    const { requests, limits } = container(render).resources;
    expect(Object.keys(requests).sort()).toEqual(['cpu', 'memory']);
    expect(Object.keys(limits)).toEqual(['memory']);
    expect(
      [requests['cpu'], requests['memory'], limits['memory']].every((value) => typeof value === 'string'),
    ).toBe(true);
  });

  it('hardens the pod: non-root, seccomp, no privilege escalation, no capability, read-only root', () => {
    expect(podSpec(render)['securityContext']).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 10001,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container(render).securityContext).toEqual({
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(podSpec(render)['enableServiceLinks']).toBe(false);
    expect(podSpec(render)['automountServiceAccountToken']).toBe(false);
    // The only writable path is the /tmp emptyDir; everything else is mounted read-only.
    const writable = container(render).volumeMounts.filter((mount) => mount.readOnly !== true);
    expect(writable.map((mount) => mount.mountPath)).toEqual(['/tmp']);
  });

  it("starts `rotator worker` with the mounted configuration, as the image's CMD does, as the image's user", () => {
    const image = finalStage(parseDockerfile(readFileSync(join(REPO, 'Dockerfile'), 'utf8')));
    expect(container(render).args).toEqual(['worker', '--config', '/etc/rotator/rotator.yaml']);
    expect(container(render).args).toEqual(image.cmd);
    const [user, group] = (image.user ?? '').split(':').map(Number);
    expect(podSpec(render)['securityContext']).toMatchObject({ runAsUser: user, runAsGroup: group });
    const mount = container(render).volumeMounts.find((entry) => entry.name === 'config');
    expect(mount?.mountPath).toBe('/etc/rotator');
  });

  it('labels the pods for workload identity', () => {
    const labels = at(findManifest(render, 'Deployment'), 'spec', 'template', 'metadata', 'labels') as Obj;
    expect(labels['azure.workload.identity/use']).toBe('true');
    expect(podSpec(render)['serviceAccountName']).toBe(findManifest(render, 'ServiceAccount').metadata.name);
  });

  it('keeps the Qualys password out of the ConfigMap: a file from the Secret instead', () => {
    const configMap = JSON.stringify(findManifest(render, 'ConfigMap'));
    expect(configMap).not.toContain(DEFAULT_INSTALL.qualys.password);
    expect(at(configOf(render), 'qualys', 'passwordFile')).toBe('/var/run/secrets/rotator/qualys-password');
    const secret = findManifest(render, 'Secret');
    const encoded = at(secret, 'data', 'qualys-password') as string;
    expect(Buffer.from(encoded, 'base64').toString()).toBe(DEFAULT_INSTALL.qualys.password);
  });
});

describe('the example values files', () => {
  it.each(EXAMPLE_VALUES)('%s renders valid manifests', async (file) => {
    const render = await renderChart([file]);
    expect(render.stderr).toBe('');
    validateAll(render);
  });

  it('existing Secrets replace the chart Secret, key by key', async () => {
    const render = await renderChart(['examples/production.yaml']);
    expect(render.manifests.some((manifest) => manifest.kind === 'Secret')).toBe(false);
    const volumes = podSpec(render)['volumes'] as { name: string; projected?: { sources: Obj[] } }[];
    const sources = volumes.find((volume) => volume.name === 'credentials')?.projected?.sources;
    expect(sources).toEqual([
      { secret: { name: 'qualys-rotator', items: [{ key: 'password', path: 'qualys-password' }] } },
      { secret: { name: 'rotator-redis', items: [{ key: 'redis-password', path: 'redis-password' }] } },
      { secret: { name: 'rotator-admin', items: [{ key: 'token', path: 'admin-token' }] } },
    ]);
    const config = configOf(render);
    expect(at(config, 'redis', 'passwordFile')).toBe('/var/run/secrets/rotator/redis-password');
    expect(at(config, 'http', 'adminTokenFile')).toBe('/var/run/secrets/rotator/admin-token');
    expect(at(findManifest(render, 'Deployment'), 'spec', 'template', 'spec', 'containers', 0, 'image')).toBe(
      'registry.example.com/security/qualys-secret-rotator@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    );
  });

  it('annotates the ServiceAccount with the workload identity', async () => {
    const render = await renderChart(['examples/everything.yaml']);
    expect(at(findManifest(render, 'ServiceAccount'), 'metadata', 'annotations')).toEqual({
      'example.com/owner': 'security',
      'azure.workload.identity/client-id': '3f2504e0-4f89-41d3-9a0c-0305e82c3301',
      'azure.workload.identity/tenant-id': '72f988bf-86f1-41af-91ab-2d7cd011db47',
    });
  });

  it('never writes an inline credential anywhere but the Secret', async () => {
    const render = await renderChart(['examples/everything.yaml']);
    const credentials = [
      'example-only-qualys-password',
      'example-only-redis-password',
      'example-only-admin-token',
    ];
    for (const manifest of render.manifests.filter((entry) => entry.kind !== 'Secret')) {
      for (const credential of credentials) expect(JSON.stringify(manifest)).not.toContain(credential);
    }
    expect(Object.keys(at(findManifest(render, 'Secret'), 'data') as Obj).sort()).toEqual([
      'admin-token',
      'qualys-password',
      'redis-password',
    ]);
  });

  it('restarts the pods when the configuration changes', async () => {
    const annotation = (render: Render) =>
      at(
        findManifest(render, 'Deployment'),
        'spec',
        'template',
        'metadata',
        'annotations',
        'checksum/config',
      );
    const before = await renderChart(['examples/minimal.yaml']);
    const after = await renderChart(['examples/minimal.yaml'], { config: { logging: { level: 'debug' } } });
    expect(annotation(before)).toMatch(/^[0-9a-f]{64}$/);
    expect(annotation(after)).not.toBe(annotation(before));
  });
});

describe('monitoring', () => {
  let render: Render;
  beforeAll(async () => {
    render = await renderChart(['examples/production.yaml']);
  });

  it('scrapes /metrics on the http port of its own Service', () => {
    const monitor = findManifest(render, 'ServiceMonitor');
    expect(at(monitor, 'spec', 'endpoints', 0)).toMatchObject({ port: 'http', path: '/metrics' });
    expect(at(monitor, 'spec', 'selector', 'matchLabels')).toEqual(
      at(findManifest(render, 'Service'), 'spec', 'selector'),
    );
    expect(at(monitor, 'metadata', 'labels', 'release')).toBe('kube-prometheus-stack');
  });

  it('alerts on expiring secrets, dead letters, stale sweeps and the failure rate', () => {
    const rules = at(findManifest(render, 'PrometheusRule'), 'spec', 'groups', 0, 'rules') as Obj[];
    expect(rules.map((rule) => rule['alert'])).toEqual([
      'RotatorSecretExpiringSoon',
      'RotatorSecretExpiryImminent',
      'RotatorDeadLetters',
      'RotatorSweepStale',
      'RotatorSweepMissing',
      'RotatorRotationFailureRate',
      'RotatorRedisUnreachable',
    ]);
    for (const rule of rules) {
      expect(rule['expr']).toContain('namespace="security", service="rotator-qualys-secret-rotator"');
      expect(at(rule, 'labels', 'severity')).toMatch(/^(warning|critical)$/);
      expect(at(rule, 'annotations', 'runbook_url')).toMatch(/^https:\/\/git\.example\.com\/.*#[a-z-]+$/);
    }
  });

  it('queries only metrics that the worker exports', async () => {
    const exported = new Set(
      (await new RotatorMetrics().registry.getMetricsAsJSON()).map((metric) => metric.name),
    );
    const rules = at(findManifest(render, 'PrometheusRule'), 'spec', 'groups', 0, 'rules') as Obj[];
    const queried = rules.flatMap((rule) => [...String(rule['expr']).matchAll(/\b(rotator_[a-z_]+)\b/g)]);
    expect(queried.length).toBeGreaterThan(rules.length - 1);
    for (const [, name = ''] of queried) expect(exported.has(name), name).toBe(true);
  });

  it('tunes the thresholds from values', async () => {
    const tuned = await renderChart(['examples/production.yaml'], {
      metrics: {
        prometheusRule: {
          secretExpiry: { days: 10 },
          sweepStale: { hours: 6 },
          failureRate: { enabled: false },
        },
      },
    });
    const rules = at(findManifest(tuned, 'PrometheusRule'), 'spec', 'groups', 0, 'rules') as Obj[];
    const expr = (name: string) => rules.find((rule) => rule['alert'] === name)?.['expr'];
    expect(expr('RotatorSecretExpiringSoon')).toContain('< 10 * 86400');
    expect(expr('RotatorSweepStale')).toContain('> 6 * 3600');
    expect(expr('RotatorRotationFailureRate')).toBeUndefined();
  });
});

describe('the NetworkPolicy', () => {
  it('lets the pods reach DNS, Redis and HTTPS only, and the listed peers reach the http port', async () => {
    const render = await renderChart(['examples/production.yaml']);
    const spec = at(findManifest(render, 'NetworkPolicy'), 'spec') as Obj;
    expect(spec['policyTypes']).toEqual(['Ingress', 'Egress']);
    const egress = spec['egress'] as { ports: { port: number | string; protocol: string }[]; to?: Obj[] }[];
    expect(egress.flatMap((rule) => rule.ports.map((port) => `${port.protocol}/${port.port}`))).toEqual([
      'UDP/53',
      'TCP/53',
      'TCP/6379',
      'TCP/443',
    ]);
    expect(egress[1]?.to).toEqual([{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'redis' } } }]);
    expect(at(spec, 'ingress', 0, 'from', 0, 'namespaceSelector', 'matchLabels')).toEqual({
      'kubernetes.io/metadata.name': 'monitoring',
    });
  });
});

describe('values the chart refuses, with the value to fix in the message', () => {
  const refused = async (values: Obj, files: string[] = []) => {
    const render = await renderChart(files, values);
    expect(render.ok).toBe(false);
    return render.stderr;
  };

  it('no Qualys password', async () => {
    expect(await refused({})).toContain('set qualys.existingSecret');
  });

  it('both an inline password and an existing Secret', async () => {
    expect(await refused({ qualys: { password: 'p', existingSecret: 's' } })).toContain('not both');
  });

  it('a grace period that does not cover the shutdown timeout', async () => {
    const stderr = await refused({ ...DEFAULT_INSTALL, terminationGracePeriodSeconds: 25 });
    expect(stderr).toContain(
      'terminationGracePeriodSeconds (25) must exceed config.worker.shutdownTimeout (20s)',
    );
    const longer = await refused({ ...DEFAULT_INSTALL, config: { worker: { shutdownTimeout: '1m' } } });
    expect(longer).toContain('config.worker.shutdownTimeout (60s)');
  });

  it('the admin API without a token, or with a short one', async () => {
    expect(await refused({ ...DEFAULT_INSTALL, admin: { enabled: true } })).toContain('admin.enabled needs');
    expect(await refused({ ...DEFAULT_INSTALL, admin: { enabled: true, token: 'short' } })).toContain('32');
  });

  it('a typo at any level, and a password in the ConfigMap', async () => {
    expect(await refused({ ...DEFAULT_INSTALL, replicas: 3 })).toContain('Additional property replicas');
    expect(await refused({ ...DEFAULT_INSTALL, probes: { liveness: { periodSecond: 5 } } })).toContain(
      'Additional property periodSecond',
    );
    expect(await refused({ ...DEFAULT_INSTALL, config: { rotation: { intervall: '7d' } } })).toContain(
      'Additional property intervall',
    );
    expect(await refused({ ...DEFAULT_INSTALL, config: { qualys: { password: 'p' } } })).toContain(
      'Additional property password',
    );
    expect(await refused({ ...DEFAULT_INSTALL, config: { rotation: { interval: '30 days' } } })).toContain(
      'config.rotation.interval',
    );
  });
});
