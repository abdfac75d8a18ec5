import fc from 'fast-check';
import { afterEach, expect } from 'vitest';

/** What the property tests of hostile input share: a replayable seed, a time budget, a pollution check. */

// Fixed so that a failure replays (fast-check prints seed and path); FC_SEED=<n> explores others.
export const SEED = Number(process.env.FC_SEED ?? 20_260_801);

export const params = (numRuns: number, interruptAfterMs = 2_000) => ({
  seed: SEED,
  numRuns,
  plugins: [fc.interruptAfterTimeLimit(interruptAfterMs)],
});

/** Runs `run`, failing when one run takes longer than `budgetMs`: a hang in the making (a quadratic regex, an unbounded loop). */
export function withinBudget<T>(run: () => T, budgetMs = 250, what = 'one run'): T {
  const started = performance.now();
  const result = run();
  const elapsedMs = performance.now() - started;
  if (elapsedMs > budgetMs) throw new Error(`${what} took ${Math.round(elapsedMs)} ms`);
  return result;
}

/** After each test of the file, Object.prototype and Array.prototype must be as they were: no input may pollute them. */
export function expectNoPrototypePollution(): void {
  const prototypeKeys = Object.getOwnPropertyNames(Object.prototype);
  const arrayPrototypeKeys = Object.getOwnPropertyNames(Array.prototype);
  afterEach(() => {
    expect(Object.getOwnPropertyNames(Object.prototype)).toEqual(prototypeKeys);
    expect(Object.getOwnPropertyNames(Array.prototype)).toEqual(arrayPrototypeKeys);
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
  });
}

/** `value` with the node `path` picks (numbers taken modulo the children) replaced. */
export function replaceAt(value: unknown, path: readonly number[], replacement: unknown): unknown {
  const [choice, ...rest] = path;
  if (choice === undefined || value === null || typeof value !== 'object') return replacement;
  const entries = Object.entries(value);
  const picked = entries[choice % Math.max(entries.length, 1)];
  if (picked === undefined) return replacement;
  const replaced = entries.map(([name, child]): [string, unknown] => [
    name,
    name === picked[0] ? replaceAt(child, rest, replacement) : child,
  ]);
  return Array.isArray(value) ? replaced.map(([, child]) => child) : Object.fromEntries(replaced);
}
