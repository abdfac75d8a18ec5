import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A memory cgroup for the worker, so that it runs under the limit the Helm chart gives its container:
 * Node sizes its heap from that limit (259 MB under 384 MiB; 4 GB on this 24 GiB host without one), and
 * the garbage it lets pile up before collecting is most of a busy worker's RSS. Measuring without the
 * limit would report memory the pod never uses. cgroup v1 (memory controller) or v2, where this process
 * may create a child group; otherwise undefined and the benchmark says the run was unconstrained.
 */
export interface MemoryCgroup {
  /** How it was made, for the report: "cgroup v1, 384 MiB". */
  readonly description: string;
  /** The shell prefix that moves the process into the group before it execs the worker. */
  readonly procsFile: string;
  /** The kernel's count of OOM kills in the group (v2), or of hits of the limit (v1). */
  limitEvents(): number;
  remove(): void;
}

function ownPath(controller: 'memory' | ''): string | undefined {
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [, controllers, path] = line.split(':');
    if (controller === '' ? line.startsWith('0::') : controllers?.split(',').includes(controller))
      return path;
  }
  return undefined;
}

export function createMemoryCgroup(limitBytes: number, name: string): MemoryCgroup | undefined {
  const mib = Math.round(limitBytes / 2 ** 20);
  const v1 = ownPath('memory');
  if (v1 !== undefined) {
    const dir = join('/sys/fs/cgroup/memory', v1, name);
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'memory.limit_in_bytes'), String(limitBytes));
      return {
        description: `cgroup v1, ${mib} MiB`,
        procsFile: join(dir, 'cgroup.procs'),
        limitEvents: () => Number(readFileSync(join(dir, 'memory.failcnt'), 'utf8').trim()),
        remove: () => rmdirSync(dir),
      };
    } catch {
      // Not ours to write (an unprivileged run): try v2, else run unconstrained.
    }
  }
  const v2 = ownPath('');
  for (const root of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) {
    if (v2 === undefined) break;
    const dir = join(root, v2, name);
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'memory.max'), String(limitBytes));
      return {
        description: `cgroup v2, ${mib} MiB`,
        procsFile: join(dir, 'cgroup.procs'),
        limitEvents: () =>
          Number(/oom_kill (\d+)/.exec(readFileSync(join(dir, 'memory.events'), 'utf8'))?.[1] ?? 0),
        remove: () => rmdirSync(dir),
      };
    } catch {
      // No memory controller delegated here.
    }
  }
  return undefined;
}
