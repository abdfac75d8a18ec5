import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { RotatorConfig } from '../config/types.ts';
import type { LedgerPort } from '../rotation/ports.ts';
import type { Queues } from '../queue/rotation-queue.ts';
import {
  SelectionError,
  enqueueTargets,
  listDeadLetters,
  purgeDeadLetters,
  replayDeadLetters,
  targetStatuses,
} from '../queue/operations.ts';
import type { Secret } from '../util/secret.ts';
import { hasBearerToken } from './bearer-auth.ts';
import { BODY_TIMEOUT_MS, BodyError, readJsonBody } from './json-body.ts';
import { DASHBOARD_PATH } from './dashboard-path.ts';
import type { QueueDashboard } from './queue-dashboard.ts';
import { lengthChecked } from '../util/length-checked.ts';

/** What the admin API works on; `undefined` until the worker has opened its queues. */
export interface AdminDeps {
  readonly config: RotatorConfig;
  readonly ledger: Pick<LedgerPort, 'readMany'>;
  readonly queues: Queues;
}

export interface AdminApiOptions {
  /** How long a request body may take to arrive (tests shorten it). */
  readonly bodyTimeoutMs?: number;
}

export interface AdminApi {
  /** Serves a request under `/admin` (the caller routes only those here). */
  handle(req: IncomingMessage, res: ServerResponse): void;
}

const nonEmptyId = lengthChecked(z.string().min(1));
const ids = lengthChecked(z.array(nonEmptyId).max(1_000));
const rotationsBody = z.strictObject({
  apps: ids.optional(),
  connectors: ids.optional(),
  all: z.boolean().optional(),
  force: z.boolean().optional(),
});
const replayBody = z.strictObject({
  ids: ids.optional(),
  appId: nonEmptyId.optional(),
  all: z.boolean().optional(),
});

class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/**
 * `/admin/`: the operator actions of the CLI (`src/queue/operations.ts`) over HTTP, and the queue
 * dashboard, all behind one bearer token. Requests are logged by method, path and status only: the
 * token travels in a header, which is never logged.
 */
export function createAdminApi(
  token: Secret,
  deps: () => AdminDeps | undefined,
  logger: Logger,
  options: AdminApiOptions = {},
): AdminApi {
  const bodyTimeoutMs = options.bodyTimeoutMs ?? BODY_TIMEOUT_MS;
  // Loaded on first use: bull-board and its web framework are ~13 MB of a worker's resident memory, and
  // most workers never serve the dashboard.
  let dashboard: Promise<QueueDashboard> | undefined;
  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
    res.end(JSON.stringify(body));
  };

  return {
    handle(req, res) {
      const url = URL.parse(req.url ?? '/', 'http://local');
      const method = req.method ?? 'GET';
      if (url === null) {
        // The health server refuses these first; a throw here would go uncaught and end the process.
        req.resume();
        send(res, 400, { error: 'the request target is not a valid URL' });
        return;
      }
      res.on('finish', () =>
        logger.info({ method, path: url.pathname, status: res.statusCode }, 'admin request'),
      );
      if (!hasBearerToken(req, token)) {
        // Drain an unauthenticated body rather than buffer it, and only until the answer is out: the
        // connection closes then, so a client without the token cannot stream into it for ever.
        req.resume();
        send(
          res,
          401,
          { error: 'unauthorized' },
          { 'www-authenticate': 'Bearer realm="rotator-admin"', connection: 'close' },
        );
        return;
      }
      const ready = deps();
      if (ready === undefined) {
        send(res, 503, { error: 'the worker is starting' });
        return;
      }
      if (url.pathname === DASHBOARD_PATH || url.pathname.startsWith(`${DASHBOARD_PATH}/`)) {
        const loading = (dashboard ??= import('./queue-dashboard.ts').then(({ createQueueDashboard }) =>
          createQueueDashboard([ready.queues.rotation, ready.queues.deadLetters.queue]),
        ));
        // A failed load is tried again by the next request rather than remembered.
        loading.catch(() => {
          if (dashboard === loading) dashboard = undefined;
        });
        loading
          .then((serve) => serve(req, res))
          .catch((error: unknown) => {
            logger.error({ err: error }, 'queue dashboard failed');
            if (!res.headersSent) send(res, 500, { error: 'internal error' });
          });
        return;
      }
      route(method, url, req, ready, bodyTimeoutMs).then(
        (body) => send(res, 200, body),
        (error: unknown) => {
          if (error instanceof HttpError || error instanceof BodyError) {
            // A body refused before it was read whole (too big, too slow, wrong type) is not read
            // further: close the connection instead.
            send(
              res,
              error.status,
              { error: error.message },
              error instanceof BodyError && error.status !== 400 ? { connection: 'close' } : {},
            );
          } else if (error instanceof SelectionError) send(res, 400, { error: error.message });
          else {
            logger.error({ err: error, method, path: url.pathname }, 'admin request failed');
            send(res, 500, { error: 'internal error' });
          }
        },
      );
    },
  };
}

async function route(
  method: string,
  url: URL,
  req: IncomingMessage,
  deps: AdminDeps,
  bodyTimeoutMs: number,
): Promise<unknown> {
  const { config, ledger, queues } = deps;
  const parts = url.pathname
    .split('/')
    .filter((part) => part !== '')
    .map(decodePart);
  const [, resource, id, extra] = parts;
  if (resource === 'rotations' && id === undefined) {
    allow(method, 'POST');
    const body = parse(rotationsBody, await readJsonBody(req, { timeoutMs: bodyTimeoutMs }));
    return { enqueued: await enqueueTargets(queues, config, body, body.force === true) };
  }
  if (resource === 'targets' && extra === undefined) {
    allow(method, 'GET');
    if (id === undefined) return { targets: await targetStatuses(ledger, queues, config) };
    const target = config.targets.find((candidate) => candidate.appId === id.toLowerCase());
    if (target === undefined) throw new HttpError(404, `no configured target has the app ${id}`);
    const [status] = await targetStatuses(ledger, queues, config, { apps: [target.appId] });
    return status;
  }
  if (resource === 'dead-letters' && id === undefined) {
    allow(method, 'GET');
    const filter = {
      appId: url.searchParams.get('appId') ?? undefined,
      connectorId: url.searchParams.get('connectorId') ?? undefined,
      errorCode: url.searchParams.get('errorCode') ?? undefined,
    };
    return { deadLetters: await listDeadLetters(queues, filter) };
  }
  if (resource === 'dead-letters' && id === 'replay' && extra === undefined) {
    allow(method, 'POST');
    const body = parse(replayBody, await readJsonBody(req, { timeoutMs: bodyTimeoutMs }));
    return replayDeadLetters(queues, config, { ids: body.ids, filter: { appId: body.appId }, all: body.all });
  }
  if (resource === 'dead-letters' && id !== undefined && extra === undefined) {
    allow(method, 'DELETE');
    // The body means nothing here, but it is held to the same limits as any other: read, not left
    // for the server to drain whatever its size or pace.
    await readJsonBody(req, { timeoutMs: bodyTimeoutMs });
    const result = await purgeDeadLetters(queues, { ids: [id] });
    if (result.removed.length === 0) throw new HttpError(404, `no dead letter has the id ${id}`);
    return result;
  }
  throw new HttpError(404, 'not found');
}

function decodePart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new HttpError(400, 'the path is not valid percent-encoding');
  }
}

function allow(method: string, wanted: string): void {
  if (method !== wanted) throw new HttpError(405, `use ${wanted}`);
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? 'body' : issue.path.join('.');
    throw new HttpError(400, `${where}: ${issue?.message ?? 'invalid'}`);
  }
  return result.data;
}
