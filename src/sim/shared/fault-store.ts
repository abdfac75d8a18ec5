import { Prng } from './prng.ts';

/** The faults every simulator has: latency on each answer and a random error rate. */
export interface BaseFaults {
  latencyMs: number;
  errorRate: number;
}

export type FaultsPatchResult<F> =
  | { readonly ok: true; readonly patch: Partial<F> }
  | { readonly ok: false; readonly problems: readonly string[] };

export interface FaultsShape<F extends BaseFaults> {
  /** The faults in force after a reset. */
  defaults(): F;
  /** A deep copy, so that no caller shares the counters in force. */
  copy(faults: F): F;
}

/**
 * The faults in force and the seeded PRNG behind `errorRate`, the base of each simulator's fault
 * injector: its decisions use up the counters of `live`, the copy in force.
 */
export class FaultStore<F extends BaseFaults> {
  protected readonly prng: Prng;
  readonly #shape: FaultsShape<F>;
  #faults: F;

  constructor(seed: number, shape: FaultsShape<F>) {
    this.prng = new Prng(seed);
    this.#shape = shape;
    this.#faults = shape.defaults();
  }

  protected get live(): F {
    return this.#faults;
  }

  current(): F {
    return this.#shape.copy(this.#faults);
  }

  /** Merges field by field: a field given replaces the one in force, whole. Expects a checked patch. */
  set(patch: Partial<F>): void {
    this.#faults = this.#shape.copy({ ...this.#faults, ...patch });
  }

  reset(): void {
    this.#faults = this.#shape.defaults();
  }

  get latencyMs(): number {
    return this.#faults.latencyMs;
  }
}

/** Checks a patch with `parse` and throws a TypeError listing every problem when it is invalid. */
export function checkedFaultsPatch<F>(
  patch: unknown,
  parse: (value: unknown) => FaultsPatchResult<F>,
): Partial<F> {
  const parsed = parse(patch);
  if (!parsed.ok) throw new TypeError(`Invalid faults: ${parsed.problems.join('; ')}`);
  return parsed.patch;
}
