/** How many requests the gateway is working on at once for this user; beyond `limit` it refuses. */
export class ConcurrencyGate {
  readonly limit: number;
  #running = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  get running(): number {
    return this.#running;
  }

  /**
   * Takes a slot, or returns undefined when all are busy. The release function counts once however
   * often it is called, because a response can both finish and close.
   */
  tryAcquire(): (() => void) | undefined {
    if (this.#running >= this.limit) return undefined;
    this.#running++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#running--;
    };
  }
}
