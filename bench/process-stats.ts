import { readFileSync } from 'node:fs';

/**
 * CPU time and memory of another process, read from /proc (Linux): the worker runs in a process of its
 * own, so what the simulators and the benchmark itself cost is not counted against it.
 */

/** Clock ticks per second of /proc/<pid>/stat; 100 on every Linux the project runs on. */
const CLOCK_TICKS = 100;

export interface ProcessStats {
  /** User + system CPU seconds since the process started. */
  readonly cpuSeconds: number;
  /** Resident set size now, in bytes. */
  readonly rssBytes: number;
  /** Peak resident set size (VmHWM), in bytes. */
  readonly peakRssBytes: number;
}

export function readProcessStats(pid: number): ProcessStats | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (name: string) =>
      Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { cpuSeconds: (utime + stime) / CLOCK_TICKS, rssBytes: kib('VmRSS'), peakRssBytes: kib('VmHWM') };
  } catch {
    return undefined;
  }
}

/** Samples a process every `intervalMs` and keeps the highest RSS seen (VmHWM is the kernel's own peak). */
export class ProcessSampler {
  readonly #pid: number;
  readonly #timer: NodeJS.Timeout;
  #last: ProcessStats | undefined;

  constructor(pid: number, intervalMs = 250) {
    this.#pid = pid;
    this.#last = readProcessStats(pid);
    this.#timer = setInterval(() => {
      this.#last = readProcessStats(this.#pid) ?? this.#last;
    }, intervalMs);
    this.#timer.unref();
  }

  /** The latest reading (a fresh one when the process still runs). */
  now(): ProcessStats | undefined {
    this.#last = readProcessStats(this.#pid) ?? this.#last;
    return this.#last;
  }

  stop(): ProcessStats | undefined {
    clearInterval(this.#timer);
    return this.now();
  }
}
