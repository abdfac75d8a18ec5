/** connectorId → appIds, sorted, only connectors with at least one app: the shape list returns. */
export type MappingSnapshot = Map<string, string[]>;

function copySnapshot(snapshot: ReadonlyMap<string, readonly string[]>): MappingSnapshot {
  return new Map([...snapshot].map(([connectorId, appIds]) => [connectorId, [...appIds]]));
}

function withApp(snapshot: MappingSnapshot, connectorId: string, appId: string): void {
  const appIds = new Set(snapshot.get(connectorId) ?? []);
  appIds.add(appId);
  snapshot.set(connectorId, [...appIds].sort());
}

/**
 * What the Qualys side knows: the connectors that exist, the live registrations with their secrets,
 * and the Redis cache that connector processing (and the list endpoint) reads, which only a sync
 * refreshes. The previous cache is kept so a "stale list" fault can serve a read from a lagging replica.
 */
export class QualysState {
  readonly #connectors = new Set<string>();
  /** connectorId → appId → secret */
  readonly #live = new Map<string, Map<string, string>>();
  #cache: MappingSnapshot = new Map();
  #cacheBeforeLastSync: MappingSnapshot = new Map();

  constructor(connectors: readonly string[]) {
    for (const connectorId of connectors) this.#connectors.add(connectorId);
  }

  addConnector(connectorId: string): void {
    this.#connectors.add(connectorId);
  }

  hasConnector(connectorId: string): boolean {
    return this.#connectors.has(connectorId);
  }

  connectors(): string[] {
    return [...this.#connectors].sort();
  }

  hasMapping(connectorId: string, appId: string): boolean {
    return this.#live.get(connectorId)?.has(appId) ?? false;
  }

  secretOf(connectorId: string, appId: string): string | undefined {
    return this.#live.get(connectorId)?.get(appId);
  }

  setMapping(connectorId: string, appId: string, secret: string): void {
    let apps = this.#live.get(connectorId);
    if (apps === undefined) {
      apps = new Map();
      this.#live.set(connectorId, apps);
    }
    apps.set(appId, secret);
  }

  deleteMapping(connectorId: string, appId: string): boolean {
    const apps = this.#live.get(connectorId);
    const deleted = apps?.delete(appId) ?? false;
    if (apps?.size === 0) this.#live.delete(connectorId);
    return deleted;
  }

  /** A registration that existed before the test: live, cached and in the previous cache alike. */
  seed(connectorId: string, appId: string, secret: string): void {
    this.#connectors.add(connectorId);
    this.setMapping(connectorId, appId, secret);
    withApp(this.#cache, connectorId, appId);
    withApp(this.#cacheBeforeLastSync, connectorId, appId);
  }

  live(): MappingSnapshot {
    const snapshot: MappingSnapshot = new Map();
    for (const connectorId of [...this.#live.keys()].sort()) {
      const appIds = [...(this.#live.get(connectorId)?.keys() ?? [])].sort();
      if (appIds.length > 0) snapshot.set(connectorId, appIds);
    }
    return snapshot;
  }

  cache(): MappingSnapshot {
    return copySnapshot(this.#cache);
  }

  cacheBeforeLastSync(): MappingSnapshot {
    return copySnapshot(this.#cacheBeforeLastSync);
  }

  sync(): void {
    this.#cacheBeforeLastSync = this.#cache;
    this.#cache = this.live();
  }
}

/** A snapshot as a plain object, for JSON. */
export function snapshotToObject(snapshot: ReadonlyMap<string, readonly string[]>): Record<string, string[]> {
  return Object.fromEntries([...snapshot].map(([connectorId, appIds]) => [connectorId, [...appIds]]));
}
