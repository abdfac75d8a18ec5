import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import type { TargetStatus } from '../../src/queue/operations.ts';
import { startWorker, type WorkerApp } from '../../src/worker/worker-app.ts';
import { expectNoSecrets } from '../support/leak-scan.ts';
import { captureLogger } from '../support/log-capture.ts';
import { startEstate, waitFor, type Estate } from '../support/worker-estate.ts';

/** The admin API and queue dashboard of an in-process worker, over real HTTP. */

let estate: Estate;
let running: WorkerApp | undefined;
const logs = captureLogger('trace');
const token = `admin-${randomUUID()}`;
const responses: string[] = [];

beforeAll(async () => {
  estate = await startEstate({
    tls: { cert: inject('tlsCert'), key: inject('tlsKey') },
    redisUrl: inject('redisUrl'),
    connectorsOf: [1],
    propagationDelayMs: 0,
    label: 'admin',
  });
  const { file } = estate.writeConfig({ http: { adminToken: token } });
  running = await startWorker(loadConfig({ path: file, env: {} }), logs.logger);
}, 30_000);

afterAll(async () => {
  await running?.stop();
  await estate.close();
});

async function call(
  path: string,
  init: RequestInit & { auth?: string | null } = {},
): Promise<{ status: number; headers: Headers; text: string }> {
  const headers = new Headers(init.headers);
  const auth = init.auth === undefined ? token : init.auth;
  if (auth !== null) headers.set('authorization', `Bearer ${auth}`);
  const response = await fetch(`${running!.http!.url}${path}`, { ...init, headers });
  const text = await response.text();
  responses.push(text, JSON.stringify([...response.headers]));
  return { status: response.status, headers: response.headers, text };
}

const json = (body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

describe('admin API', () => {
  it('refuses a missing, wrong or wrong-length token', async () => {
    for (const auth of [null, `admin-${randomUUID()}`, 'short', `${token}x`]) {
      const { status, headers } = await call('/admin/targets', { auth });
      expect(status).toBe(401);
      expect(headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    expect((await call('/admin/targets', { auth: token.toUpperCase() })).status).toBe(401);
  });

  it('enqueues a rotation and reports the rotated target', async () => {
    const [app] = estate.apps;
    const listed = await call('/admin/targets');
    expect(listed.status).toBe(200);
    expect((JSON.parse(listed.text) as { targets: TargetStatus[] }).targets.map((t) => t.appId)).toEqual([
      app!.appId,
    ]);

    const bad = await call('/admin/rotations', json({}));
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('exactly one way');
    const unknown = await call('/admin/rotations', json({ apps: ['nope'] }));
    expect(unknown.status).toBe(400);

    const enqueued = await call('/admin/rotations', json({ apps: [app!.appId] }));
    expect(enqueued.status).toBe(200);
    expect(JSON.parse(enqueued.text)).toEqual({
      enqueued: [{ appId: app!.appId, name: app!.name, state: 'queued' }],
    });
    const status = await waitFor(
      'the app to be rotated',
      async () => {
        const { text } = await call(`/admin/targets/${app!.appId}`);
        const target = JSON.parse(text) as TargetStatus;
        return target.lastResult?.outcome === 'rotated' ? target : undefined;
      },
      20_000,
    );
    expect(status.adopted).toBe(true);
    expect((await call(`/admin/targets/${randomUUID()}`)).status).toBe(404);
  });

  it('lists, replays and deletes dead letters', async () => {
    const listed = await call(`/admin/dead-letters?appId=${estate.apps[0]!.appId}`);
    expect(listed.status).toBe(200);
    expect(JSON.parse(listed.text)).toEqual({ deadLetters: [] });
    const replayed = await call('/admin/dead-letters/replay', json({ all: true }));
    expect(replayed.status).toBe(200);
    expect(JSON.parse(replayed.text)).toEqual({ replayed: [], left: [], notFound: [] });
    expect((await call('/admin/dead-letters/replay', json({}))).status).toBe(400);
    expect((await call('/admin/dead-letters/no-such-id', { method: 'DELETE' })).status).toBe(404);
    expect((await call('/admin/dead-letters', { method: 'DELETE' })).status).toBe(405);
  });

  it('refuses a body over 64 KiB', async () => {
    const { status } = await call('/admin/rotations', json({ apps: ['x'.repeat(70 * 1024)] }));
    expect(status).toBe(413);
  });

  it('serves the queue dashboard behind the same token', async () => {
    expect((await call('/admin/queues', { auth: null })).status).toBe(401);
    expect((await call('/admin/queues/api/queues', { auth: 'wrong-token-value' })).status).toBe(401);
    const page = await call('/admin/queues');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<html');
    const api = await call('/admin/queues/api/queues');
    expect(api.status).toBe(200);
    const board = JSON.parse(api.text) as { queues: { name: string; readOnlyMode: boolean }[] };
    expect(board.queues.map((queue) => [queue.name, queue.readOnlyMode])).toEqual([
      ['rotation', true],
      ['dead-letter', true],
    ]);
  });

  it('never writes the token to a log line or a response', () => {
    expect(logs.lines.some((line) => line.includes('admin request'))).toBe(true);
    expectNoSecrets({ logs: logs.lines, responses }, [token]);
    expectNoSecrets({ logs: logs.lines }, estate.knownSecrets());
  });
});
