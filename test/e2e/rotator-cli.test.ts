import { runRotator, type RotatorRun } from '../support/rotator-process.ts';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { expectNoSecrets } from '../support/leak-scan.ts';
import { expectConsistent, startEstate, waitFor, type Estate } from '../support/worker-estate.ts';
import { spawnWorker, waitUntilReady, type WorkerProcess } from '../support/worker-process.ts';

/**
 * The `rotator` executable as an operator drives it: check the configuration, start the worker,
 * rotate an app on demand and wait, read the status, find a failure in the dead-letter queue, replay it.
 */

let estate: Estate;
let configFile: string;
let worker: WorkerProcess | undefined;
const outputs: string[] = [];

async function rotator(...args: string[]): Promise<RotatorRun> {
  const run = await runRotator([...args, '--config', configFile]);
  outputs.push(run.stdout, run.stderr);
  return run;
}

beforeAll(async () => {
  estate = await startEstate({
    tls: { cert: inject('tlsCert'), key: inject('tlsKey') },
    redisUrl: inject('redisUrl'),
    connectorsOf: [2, 1],
    propagationDelayMs: 200,
    label: 'e2e',
  });
  configFile = estate.writeConfig({ rotation: { gracePeriod: '0s', keepPrevious: 0 } }).file;
}, 30_000);

afterAll(async () => {
  worker?.kill();
  await estate.close();
});

describe('the rotator executable, end to end', () => {
  it('checks the configuration, runs the worker, rotates on demand, reports, dead-letters and replays', async () => {
    const [first, second] = estate.apps;
    const checked = await rotator('config', 'check');
    expect(checked.code).toBe(0);
    expect(checked.stdout).toContain('configuration is valid');

    worker = spawnWorker(configFile, { ROTATOR_HTTP__PORT: '0' });
    await waitUntilReady(await worker.url(20_000), 20_000);

    const rotated = await rotator('enqueue', '--app', first!.appId, '--wait', '--timeout', '60s');
    expect(rotated.code, rotated.stdout + rotated.stderr).toBe(0);
    const status = JSON.parse((await rotator('status', '--app', first!.appId, '--json')).stdout) as unknown;
    expect(JSON.stringify(status)).toContain('"outcome":"rotated"');

    // Qualys refuses the next update outright: a permanent failure, dead-lettered at once.
    estate.qualys.setFaults({ failNext: { count: 1, status: 400, endpoints: ['update'] } });
    const failed = await rotator('enqueue', '--app', second!.appId, '--force', '--wait', '--timeout', '60s');
    expect(failed.code).toBe(1);
    const letters = JSON.parse((await rotator('dlq', 'list', '--json')).stdout) as {
      items: { appId: string; errorCode: string; step: string }[];
    };
    expect(letters.items).toEqual([
      expect.objectContaining({
        appId: second!.appId,
        errorCode: 'ROT_ERR_QUALYS_HTTP_STATUS',
        step: 'push',
      }),
    ]);

    const replay = await rotator('dlq', 'replay', '--app', second!.appId);
    expect(replay.code, replay.stdout + replay.stderr).toBe(0);
    await waitFor(
      'the replayed rotation',
      async () => {
        const text = JSON.stringify(
          JSON.parse((await rotator('status', '--app', second!.appId, '--json')).stdout),
        );
        return text.includes('"outcome":"rotated"') ? true : undefined;
      },
      60_000,
    ).catch(async (error: unknown) => {
      const text = (await rotator('status', '--app', second!.appId, '--json')).stdout;
      throw new Error(`${String(error)}\nstatus: ${text.slice(0, 1500)}\nworker: ${worker?.tail(15) ?? ''}`);
    });
    expect(JSON.parse((await rotator('dlq', 'list', '--json')).stdout)).toEqual({ items: [] });
    expectConsistent(estate, estate.apps);

    worker.signal('SIGTERM');
    expect((await worker.exited).code).toBe(0);
    expectNoSecrets({ outputs, worker: [...worker.stdout, ...worker.stderr] }, estate.knownSecrets());
  }, 120_000);
});
