import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';

/** An identity the rotator signs in as. */
export interface SimClient {
  tenantId: string;
  clientId: string;
  secret?: string;
  /** PEM of its certificate credential: a client assertion whose x5t or x5t#S256 names it is accepted. */
  certificatePem?: string;
  /** A workload-identity (federated) token accepted verbatim as the client assertion. */
  federatedToken?: string;
}

export interface SimApp {
  objectId: string;
  appId: string;
  tenantId: string;
  displayName: string;
  signInAudience: 'AzureADMyOrg' | 'AzureADandPersonalMicrosoftAccount';
  /** clientIds of SimClients that own it. */
  owners: string[];
}

/** A password credential's metadata: everything Graph shows, never the secret text. */
export interface SimPassword {
  keyId: string;
  displayName: string | null;
  startDateTime: string;
  endDateTime: string;
  hint: string;
  createdAtMs: number;
}

export interface NewApp {
  tenantId: string;
  owners: string[];
  appId?: string;
  objectId?: string;
  displayName?: string;
  signInAudience?: SimApp['signInAudience'];
}

export interface NewPassword {
  readonly keyId: string;
  readonly displayName: string | null;
  readonly startMs: number;
  readonly endMs: number;
  readonly secretText: string;
  readonly createdAtMs: number;
  /** When the token endpoint starts to accept it. */
  readonly usableFromMs: number;
}

/** What the token endpoint would make of a secret presented for an app. */
export type SecretVerdict = 'valid' | 'expired' | 'invalid';

interface StoredApp {
  readonly app: SimApp;
  readonly createdDateTime: string;
  readonly passwords: NewPassword[];
}

/** GUIDs, and so tenant, client, app and object ids, compare case-insensitively in Entra and Graph. */
function keyOf(id: string): string {
  return id.toLowerCase();
}

function copyApp(app: SimApp): SimApp {
  return { ...app, owners: [...app.owners] };
}

export function passwordView(password: NewPassword): SimPassword {
  return {
    keyId: password.keyId,
    displayName: password.displayName,
    startDateTime: new Date(password.startMs).toISOString(),
    endDateTime: new Date(password.endMs).toISOString(),
    hint: password.secretText.slice(0, 3),
    createdAtMs: password.createdAtMs,
  };
}

/** The directory both listeners share: tenants, the rotator's identities, and the apps it rotates. */
export class DirectoryState {
  /** lower-cased id → id as first registered */
  readonly #tenants = new Map<string, string>();
  /** `${tenant}/${clientId}`, lower-cased */
  readonly #clients = new Map<string, SimClient>();
  /** In creation order, which is the order Graph lists them in here. */
  readonly #apps: StoredApp[] = [];
  readonly #appsByObjectId = new Map<string, StoredApp>();
  readonly #appsByAppId = new Map<string, StoredApp>();
  readonly #principalIds = new Map<string, string>();

  addTenant(tenantId: string): void {
    if (!this.#tenants.has(keyOf(tenantId))) this.#tenants.set(keyOf(tenantId), tenantId);
  }

  /** The tenant id as registered, or undefined when the directory holds no such tenant. */
  tenant(tenantId: string): string | undefined {
    return this.#tenants.get(keyOf(tenantId));
  }

  addClient(client: SimClient): void {
    if (client.tenantId === '' || client.clientId === '') {
      throw new TypeError('A SimClient needs a tenantId and a clientId');
    }
    this.addTenant(client.tenantId);
    this.#clients.set(keyOf(`${client.tenantId}/${client.clientId}`), { ...client });
  }

  client(tenantId: string, clientId: string): SimClient | undefined {
    return this.#clients.get(keyOf(`${tenantId}/${clientId}`));
  }

  clients(): SimClient[] {
    return [...this.#clients.values()].map((client) => ({ ...client }));
  }

  addApp(app: NewApp, nowMs: number): SimApp {
    const created: SimApp = {
      objectId: app.objectId ?? randomUUID(),
      appId: app.appId ?? randomUUID(),
      tenantId: app.tenantId,
      displayName: app.displayName ?? 'Qualys connector app',
      signInAudience: app.signInAudience ?? 'AzureADMyOrg',
      owners: [...app.owners],
    };
    if (created.tenantId === '') throw new TypeError('An app needs a tenantId');
    if (this.#appsByObjectId.has(keyOf(created.objectId))) {
      throw new TypeError(`An app with objectId ${created.objectId} exists already`);
    }
    if (this.#appsByAppId.has(keyOf(created.appId))) {
      throw new TypeError(`An app with appId ${created.appId} exists already`);
    }
    this.addTenant(created.tenantId);
    const stored: StoredApp = { app: created, createdDateTime: new Date(nowMs).toISOString(), passwords: [] };
    this.#apps.push(stored);
    this.#appsByObjectId.set(keyOf(created.objectId), stored);
    this.#appsByAppId.set(keyOf(created.appId), stored);
    return copyApp(created);
  }

  appByObjectId(objectId: string): SimApp | undefined {
    const stored = this.#appsByObjectId.get(keyOf(objectId));
    return stored && copyApp(stored.app);
  }

  appByAppId(appId: string): SimApp | undefined {
    const stored = this.#appsByAppId.get(keyOf(appId));
    return stored && copyApp(stored.app);
  }

  apps(): SimApp[] {
    return this.#apps.map((stored) => copyApp(stored.app));
  }

  createdDateTime(appId: string): string {
    return this.#stored(appId).createdDateTime;
  }

  /** The apps of a tenant that a client owns, in creation order. */
  ownedBy(tenantId: string, clientId: string): SimApp[] {
    return this.#apps
      .filter(({ app }) => isOwner(app, tenantId, clientId))
      .map((stored) => copyApp(stored.app));
  }

  passwords(appId: string): NewPassword[] {
    return [...this.#stored(appId).passwords];
  }

  addPassword(appId: string, password: NewPassword): void {
    this.#stored(appId).passwords.push(password);
  }

  removePassword(appId: string, keyId: string): boolean {
    const { passwords } = this.#stored(appId);
    const index = passwords.findIndex((password) => keyOf(password.keyId) === keyOf(keyId));
    if (index < 0) return false;
    passwords.splice(index, 1);
    return true;
  }

  /**
   * Would Entra accept this secret for the app now? A secret is valid once propagated and between its
   * start and end; an expired one gets its own verdict because Entra answers it with its own code.
   */
  checkAppSecret(appId: string, secretText: string, nowMs: number): SecretVerdict {
    const stored = this.#appsByAppId.get(keyOf(appId));
    const matches = stored?.passwords.filter((password) => sameText(password.secretText, secretText)) ?? [];
    if (matches.some((p) => nowMs >= p.usableFromMs && nowMs >= p.startMs && nowMs < p.endMs)) return 'valid';
    if (matches.some((p) => nowMs >= p.endMs)) return 'expired';
    return 'invalid';
  }

  /** A stable object id for the service principal of a client in a tenant, the tokens' `oid`. */
  principalId(tenantId: string, clientId: string): string {
    const key = keyOf(`${tenantId}/${clientId}`);
    let id = this.#principalIds.get(key);
    if (id === undefined) {
      id = randomUUID();
      this.#principalIds.set(key, id);
    }
    return id;
  }

  #stored(appId: string): StoredApp {
    const stored = this.#appsByAppId.get(keyOf(appId));
    if (stored === undefined) throw new TypeError(`No app with appId ${appId}`);
    return stored;
  }
}

export function isOwner(app: SimApp, tenantId: string, clientId: string): boolean {
  return (
    keyOf(app.tenantId) === keyOf(tenantId) && app.owners.some((owner) => keyOf(owner) === keyOf(clientId))
  );
}

export function sameTenant(a: string, b: string): boolean {
  return keyOf(a) === keyOf(b);
}

export function sameText(a: string, b: string): boolean {
  // Hash first so the comparison takes the same time whatever the lengths.
  const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}
