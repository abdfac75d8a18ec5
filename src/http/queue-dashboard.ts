import type { IncomingMessage, ServerResponse } from 'node:http';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { getRequestListener } from '@hono/node-server';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Queue } from 'bullmq';
import { Hono } from 'hono';

import { DASHBOARD_PATH } from './dashboard-path.ts';

export type QueueDashboard = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/**
 * bull-board over the rotation and dead-letter queues, read-only: retrying or deleting from the UI
 * would bypass the replay logic of `rotator dlq`. Auth is the caller's job (the admin API's).
 */
export function createQueueDashboard(queues: readonly Queue[]): QueueDashboard {
  const adapter = new HonoAdapter(serveStatic);
  createBullBoard({
    queues: queues.map((queue) => new BullMQAdapter(queue, { readOnlyMode: true })),
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: 'Secret rotator' } },
  });
  adapter.setBasePath(DASHBOARD_PATH);
  const app = new Hono().route(DASHBOARD_PATH, adapter.registerPlugin());
  return getRequestListener(app.fetch);
}
