import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

/** A real `rotator worker --config F` process, its log lines parsed as they arrive. */

const CLI = join(import.meta.dirname, '../../src/cli/main.ts');

export interface LogLine {
  readonly level?: string;
  readonly msg?: string;
  readonly time?: string;
  readonly [field: string]: unknown;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** performance.now() when the process exited. */
  readonly at: number;
}

export interface WorkerProcess {
  readonly pid: number;
  /** Every stdout line, raw (for the leak scan). */
  readonly stdout: string[];
  readonly stderr: string[];
  /** The JSON log lines, in order. */
  readonly logs: LogLine[];
  readonly exited: Promise<Exit>;
  /** The exit, once it happened. */
  exit(): Exit | undefined;
  /** Resolves with the first line (already written or to come) that `match` accepts. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs: number, what?: string): Promise<LogLine>;
  /** The health server's base URL, from the `http server listening` line. */
  url(timeoutMs?: number): Promise<string>;
  signal(signal: NodeJS.Signals): void;
  /** SIGKILL if it still runs (test clean-up). */
  kill(): void;
  /** The last lines of both streams, for assertion messages. */
  tail(lines?: number): string;
}

export function spawnWorker(configFile: string, env: Record<string, string> = {}): WorkerProcess {
  const child: ChildProcessByStdio<null, Readable, Readable> = spawn(
    process.execPath,
    [CLI, 'worker', '--config', configFile],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const stdout: string[] = [];
  const stderr: string[] = [];
  const logs: LogLine[] = [];
  const waiters = new Set<{ match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }>();
  let exit: Exit | undefined;

  const splitter = (sink: string[], onLine?: (line: string) => void) => {
    let pending = '';
    return (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      for (const part of parts) {
        if (part === '') continue;
        sink.push(part);
        onLine?.(part);
      }
    };
  };
  child.stdout.on(
    'data',
    splitter(stdout, (text) => {
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        return;
      }
      logs.push(line);
      for (const waiter of waiters) {
        if (waiter.match(line)) {
          waiters.delete(waiter);
          waiter.resolve(line);
        }
      }
    }),
  );
  child.stderr.on('data', splitter(stderr));
  const exited = new Promise<Exit>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      exit = { code, signal, at: performance.now() };
      resolve(exit);
    });
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('the worker process did not start');

  const tail = (count = 30) =>
    [...stdout.slice(-count), ...stderr.slice(-count).map((line) => `stderr: ${line}`)].join('\n');

  const waitForLog = (match: (line: LogLine) => boolean, timeoutMs: number, what = 'a log line') => {
    const found = logs.find(match);
    if (found) return Promise.resolve(found);
    return new Promise<LogLine>((resolve, reject) => {
      const waiter = {
        match,
        resolve: (line: LogLine) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`worker ${pid}: no ${what} within ${timeoutMs} ms\n${tail()}`));
      }, timeoutMs);
      waiters.add(waiter);
      void exited.then((ended) => {
        if (!waiters.has(waiter)) return;
        waiters.delete(waiter);
        clearTimeout(timer);
        reject(new Error(`worker ${pid} exited (${ended.code ?? ended.signal}) before ${what}\n${tail()}`));
      });
    });
  };

  return {
    pid,
    stdout,
    stderr,
    logs,
    exited,
    exit: () => exit,
    waitForLog,
    async url(timeoutMs = 15_000) {
      const line = await waitForLog((entry) => entry.msg === 'http server listening', timeoutMs, 'http url');
      return String(line.url);
    },
    signal(signal) {
      child.kill(signal);
    },
    kill() {
      if (exit === undefined) child.kill('SIGKILL');
    },
    tail,
  };
}

export const hasMsg =
  (msg: string, fields: Record<string, unknown> = {}) =>
  (line: LogLine): boolean =>
    line.msg === msg && Object.entries(fields).every(([key, value]) => line[key] === value);

/** GET a path of the health server: the status and the parsed body. */
export async function getHealth(baseUrl: string, path: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(new URL(path, baseUrl));
  return { status: response.status, body: await response.json() };
}

/** Polls /readyz until it answers 200. */
export async function waitUntilReady(baseUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const { status, body } = await getHealth(baseUrl, '/readyz');
      if (status === 200) return;
      last = body;
    } catch (error) {
      last = error instanceof Error ? error.message : error;
    }
    if (Date.now() > deadline)
      throw new Error(`${baseUrl}/readyz not 200 within ${timeoutMs} ms: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
