/**
 * `npm run bench`: the real worker, Redis and the simulators with realistic latency (50 ms per upstream
 * call, 5 s for a new secret to propagate) and Qualys' limit of 300 calls an hour scaled down in time.
 * Prints a table and writes bench/results/bench-<timestamp>.json.
 *
 * Environment: BENCH_SCALES (default "100,1000,10000"), BENCH_TIME_SCALE (default 60: the Qualys hour
 * lasts a minute), BENCH_NAIVE_TARGETS (default 8; 0 skips the baseline), BENCH_CONCURRENCY (default 256),
 * BENCH_BATCH_WINDOW_MS (default 5000, the configuration's default),
 * BENCH_MEMORY_LIMIT (default: the chart's container limit; `none`), BENCH_NODE_OPTIONS (the worker's
 * NODE_OPTIONS), BENCH_MEMORY_DETAIL=1 (print the worker's heap peaks, read from its /metrics).
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createSelfSignedCert } from '../src/sim/shared/self-signed-cert.ts';
import { runScenario, type BenchConditions, type ScenarioResult, type ScenarioSpec } from './scenario.ts';

const HOUR_MS = 3_600_000;

function numberFromEnv(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? '');
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

const scales = (process.env.BENCH_SCALES ?? '100,1000,10000')
  .split(',')
  .map((text) => Number(text.trim()))
  .filter((value) => Number.isInteger(value) && value > 0);
const timeScale = numberFromEnv('BENCH_TIME_SCALE', 60);
const naiveTargets = process.env.BENCH_NAIVE_TARGETS === '0' ? 0 : numberFromEnv('BENCH_NAIVE_TARGETS', 8);
const concurrency = numberFromEnv('BENCH_CONCURRENCY', 256);
/** rotation.batchWindow of the batched runs; the configuration's default, 5 s, unless set. */
const batchWindowMs = numberFromEnv('BENCH_BATCH_WINDOW_MS', 5_000);

/** Kubernetes quantities as the chart writes memory: 384Mi, 1Gi, 500M. */
function quantityBytes(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|K|M|G)?$/.exec(text.trim());
  if (match === null) return undefined;
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, K: 1e3, M: 1e6, G: 1e9 }[match[2] ?? ''] ?? 1;
  return Math.round(Number(match[1]) * unit);
}

/**
 * The worker runs under the memory limit the chart gives its container (values.yaml), as it does in
 * Kubernetes; BENCH_MEMORY_LIMIT=512Mi sets another, BENCH_MEMORY_LIMIT=none runs it without one.
 */
async function memoryLimitBytes(): Promise<number | undefined> {
  const setting = process.env.BENCH_MEMORY_LIMIT;
  if (setting === 'none') return undefined;
  if (setting !== undefined && setting !== '') {
    const bytes = quantityBytes(setting);
    if (bytes === undefined) throw new Error(`BENCH_MEMORY_LIMIT must be a quantity such as 384Mi, or none`);
    return bytes;
  }
  const values = parse(
    await readFile(join(import.meta.dirname, '../helm/qualys-secret-rotator/values.yaml'), 'utf8'),
  ) as { resources?: { limits?: { memory?: string } } };
  const limit = values.resources?.limits?.memory;
  return limit === undefined ? undefined : quantityBytes(limit);
}

const fixed = (value: number, digits = 2): string => value.toFixed(digits);

function table(results: readonly ScenarioResult[]): string {
  const header = [
    'scenario',
    'targets',
    'rotated',
    'DLQ',
    'seconds',
    'targets/min',
    'bound/min',
    'ratio',
    'Qualys/target',
    'Graph/target',
    'tokens/target',
    'CPU s/1000',
    'idle RSS MB',
    'peak RSS MB',
    'sweep ms',
    'sweep calls',
  ];
  const rows = results.map((result) => [
    result.name,
    String(result.targets),
    String(result.rotated),
    String(result.deadLettered),
    fixed(result.seconds, 1),
    fixed(result.perMinute, 0),
    `${fixed(result.bounds.perMinute, 0)} (${result.bounds.bindingLimit})`,
    fixed(result.ratioToBound),
    fixed(result.perTarget.qualys, 3),
    fixed(result.perTarget.graph),
    fixed(result.perTarget.entraTokens),
    fixed(result.cpuSecondsPer1000, 1),
    fixed(result.idleRssMb, 0),
    fixed(result.peakRssMb, 0),
    String(result.sweep.ms),
    String(result.sweep.upstreamCalls),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)),
  );
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  return [
    line(header),
    `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`,
    ...rows.map(line),
  ].join('\n');
}

async function main(): Promise<void> {
  const cert = await createSelfSignedCert();
  try {
    const conditions: BenchConditions = {
      tls: { cert: cert.cert, key: cert.key, certPath: cert.certPath },
      latencyMs: 50,
      propagationMs: 5_000,
      qualysLimit: 300,
      qualysWindowMs: HOUR_MS / timeScale,
      tenants: 4,
      memoryLimitBytes: await memoryLimitBytes(),
    };
    const specs: ScenarioSpec[] = [
      // One target at a time, one pair per Qualys call: what a rotation without batching costs.
      ...(naiveTargets === 0
        ? []
        : [
            {
              name: 'naive',
              targets: naiveTargets,
              concurrency: 1,
              batchWindow: '0s',
              batchWindowMs: 0,
              batchMaxPairs: 1,
            },
          ]),
      ...scales.map((targets) => ({
        name: `batched-${targets}`,
        targets,
        concurrency,
        batchWindow: `${batchWindowMs}ms`,
        batchWindowMs,
        batchMaxPairs: 200,
      })),
    ];
    const results: ScenarioResult[] = [];
    for (const spec of specs) {
      process.stderr.write(`bench: ${spec.name} (${spec.targets} targets)…\n`);
      const result = await runScenario(conditions, spec);
      results.push(result);
      process.stderr.write(
        `bench: ${spec.name}: ${result.rotated} rotated in ${fixed(result.seconds, 1)} s, peak RSS ${fixed(result.peakRssMb, 0)} MB\n`,
      );
    }
    const naive = results.find((result) => result.name === 'naive');
    const largest = results.at(-1);
    const pkg = JSON.parse(await readFile(join(import.meta.dirname, '../package.json'), 'utf8')) as {
      version: string;
    };
    const report = {
      version: pkg.version,
      at: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? 'unknown',
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
        platform: `${process.platform} ${process.arch}`,
      },
      conditions: {
        latencyMs: conditions.latencyMs,
        propagationMs: conditions.propagationMs,
        qualysLimit: `${conditions.qualysLimit} calls per ${conditions.qualysWindowMs} ms (an hour / ${timeScale})`,
        tenants: conditions.tenants,
        concurrency,
        batchWindowMs,
        workerMemoryLimit: results[0]?.memoryLimit ?? 'none',
      },
      results,
      ratios:
        naive !== undefined && largest !== undefined
          ? {
              qualysCallsPerTarget: naive.perTarget.qualys / largest.perTarget.qualys,
              targetsPerMinute: largest.perMinute / naive.perMinute,
            }
          : undefined,
    };
    const dir = join(import.meta.dirname, 'results');
    await mkdir(dir, { recursive: true });
    const file = join(dir, `bench-${report.at.replaceAll(':', '-')}.json`);
    await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
    console.log(table(results));
    if (report.ratios !== undefined) {
      console.log(
        `\nbatched (${largest?.targets} targets) vs naive: ${fixed(report.ratios.qualysCallsPerTarget, 0)}× fewer Qualys calls per target, ${fixed(report.ratios.targetsPerMinute, 0)}× the throughput`,
      );
    }
    console.log(
      `\n${report.machine.cpus} × ${report.machine.cpuModel}, ${report.machine.memoryGiB} GiB, Node ${process.version}; worker memory limit: ${report.conditions.workerMemoryLimit}`,
    );
    console.log(`written to ${file}`);
  } finally {
    await rm(cert.dir, { recursive: true, force: true });
  }
}

await main();
