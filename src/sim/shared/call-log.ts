/** What every simulator records of a call: at least the endpoint it was routed to. */
export interface LoggedCall<E extends string> {
  readonly endpoint: E;
}

/** Every call a simulator received, in the order they were answered (or left hanging). */
export class EndpointCallLog<E extends string, C extends LoggedCall<E>> {
  readonly endpoints: readonly E[];
  readonly #calls: C[] = [];

  /** `endpoints`: every endpoint, in the order countsByEndpoint lists them. */
  constructor(endpoints: readonly E[]) {
    this.endpoints = endpoints;
  }

  record(call: C): void {
    this.#calls.push(Object.freeze({ ...call }));
  }

  all(): readonly C[] {
    return [...this.#calls];
  }

  count(endpoint?: E): number {
    if (endpoint === undefined) return this.#calls.length;
    return this.#calls.filter((call) => call.endpoint === endpoint).length;
  }

  countsByEndpoint(): Record<string, number> {
    return Object.fromEntries(this.endpoints.map((endpoint) => [endpoint, this.count(endpoint)]));
  }
}
