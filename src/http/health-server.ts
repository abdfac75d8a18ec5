import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AdminApi } from './admin-api.ts';

export interface HealthChecks {
  /** Every check must pass for /readyz; each returns a reason when it does not. */
  readonly readiness: () => Promise<Readonly<Record<string, string | true>>>;
  /** Served at /metrics when set (Prometheus text format). */
  readonly metrics?: { readonly contentType: string; render(): Promise<string> } | undefined;
  /** Serves `/admin/` when set (only with an admin token configured). */
  readonly admin?: AdminApi | undefined;
}

export interface HealthServer {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The worker's HTTP server: `/livez` (the process answers), `/readyz` (Redis reachable, schedulers
 * registered, worker running), `/metrics`, and the admin API under `/admin/` when a token is
 * configured. No secret or configuration is ever served.
 */
export async function startHealthServer(
  host: string,
  port: number,
  checks: HealthChecks,
): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    // An absolute-form target (`GET http://[zz]/ HTTP/1.1`) passes Node's parser but not URL's: a throw
    // here would be uncaught and end the process, so an unreadable target is the client's error.
    const path = URL.parse(req.url ?? '/', 'http://local')?.pathname;
    if (path === undefined) {
      send(400, { error: 'the request target is not a valid URL' });
      return;
    }
    if (checks.admin !== undefined && (path === '/admin' || path.startsWith('/admin/'))) {
      checks.admin.handle(req, res);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(405, { error: 'method not allowed' });
      return;
    }
    if (path === '/livez') {
      send(200, { status: 'ok' });
      return;
    }
    if (path === '/readyz') {
      checks.readiness().then(
        (results) => {
          const failing = Object.entries(results).filter(([, value]) => value !== true);
          send(failing.length === 0 ? 200 : 503, {
            status: failing.length === 0 ? 'ready' : 'not ready',
            checks: results,
          });
        },
        () => send(503, { status: 'not ready' }),
      );
      return;
    }
    const metrics = checks.metrics;
    if (path === '/metrics' && metrics !== undefined) {
      metrics.render().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' });
          res.end(text);
        },
        () => send(500, { error: 'metrics unavailable' }),
      );
      return;
    }
    send(404, { error: 'not found' });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
