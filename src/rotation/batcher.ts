/**
 * Collects requests that arrive within `windowMs` (or until `maxItems`) and hands them to `flush` as
 * one group: how many targets share one Qualys call. Each caller gets its own result, or the error
 * that failed the whole group.
 */
export class Batcher<Request, Result> {
  readonly #windowMs: number;
  readonly #maxItems: number;
  readonly #flush: (requests: readonly Request[]) => Promise<readonly Result[]>;
  #pending: { request: Request; resolve: (result: Result) => void; reject: (error: unknown) => void }[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(options: {
    windowMs: number;
    maxItems: number;
    flush: (requests: readonly Request[]) => Promise<readonly Result[]>;
  }) {
    this.#windowMs = options.windowMs;
    this.#maxItems = options.maxItems;
    this.#flush = options.flush;
  }

  submit(request: Request): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.#pending.push({ request, resolve, reject });
      if (this.#pending.length >= this.#maxItems) this.#run();
      else this.#timer ??= setTimeout(() => this.#run(), this.#windowMs);
    });
  }

  #run(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const group = this.#pending;
    this.#pending = [];
    if (group.length === 0) return;
    this.#flush(group.map((item) => item.request)).then(
      (results) => group.forEach((item, index) => item.resolve(results[index] as Result)),
      (error: unknown) => group.forEach((item) => item.reject(error)),
    );
  }
}
