import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A private, throw-away `redis-server` on a free loopback port: the demo's Redis, and the tests'. No
 * persistence (its state is worth nothing once it stops) and `noeviction`, as BullMQ requires.
 */
export interface RedisServerHandle {
  readonly url: string;
  readonly port: number;
  /** Its data directory. */
  readonly dir: string;
  stop(): Promise<void>;
}

/** For a server that must be restarted on the same port and data (the Redis-outage tests). */
export interface RedisServerOptions {
  /** Default: a free port. */
  readonly port?: number;
  /**
   * Default: a fresh temporary directory, removed by stop(). A given directory is kept, so a server
   * started again on it (with `--appendonly yes` among the extra arguments) finds its data.
   */
  readonly dir?: string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline)
      throw new Error(`redis-server did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `extraArgs` come last, so they override the defaults (`--appendonly yes` turns persistence on). */
export async function startRedisServer(
  extraArgs: readonly string[] = [],
  options: RedisServerOptions = {},
): Promise<RedisServerHandle> {
  const port = options.port ?? (await freePort());
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'rotator-redis-')));
  const child = spawn(
    process.env.REDIS_SERVER_BIN ?? 'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--maxmemory-policy',
      'noeviction',
      ...extraArgs,
    ],
    { stdio: 'ignore' },
  );
  const spawnFailed = new Promise<never>((_, reject) =>
    child.once('error', (error) => reject(new Error(`cannot start redis-server: ${error.message}`))),
  );
  try {
    await Promise.race([waitForPort(port, child, 10_000), spawnFailed]);
  } catch (error) {
    child.kill('SIGTERM');
    if (ownDir) await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      if (ownDir) await rm(dir, { recursive: true, force: true });
    },
  };
}
