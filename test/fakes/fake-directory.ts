import { randomBytes, randomUUID } from 'node:crypto';
import type {
  AddPasswordRequest,
  AppRef,
  NewPassword,
  ReadinessResult,
  SecondaryApp,
} from '../../src/azure/types.ts';
import {
  EntraReadinessTimeoutError,
  EntraSecretRejectedError,
  GraphAppNotFoundError,
  GraphHttpStatusError,
  GraphTooManyPasswordsError,
} from '../../src/azure/errors/index.ts';
import type { RotatorError } from '../../src/errors/rotator-error.ts';
import type { Clock, DirectoryPort } from '../../src/rotation/ports.ts';
import { Secret } from '../../src/util/secret.ts';

interface FakePassword {
  keyId: string;
  displayName: string | null;
  startDateTime: string;
  endDateTime: string;
  hint: string;
  secret: string;
}

interface FakeApp {
  tenantId: string;
  appId: string;
  objectId: string;
  displayName: string;
  passwords: FakePassword[];
}

type Operation = 'readApp' | 'readApps' | 'addPassword' | 'removePassword' | 'waitUntilAccepted';

/**
 * An in-memory Entra ID with Graph's rules as the adapter presents them: what the engine's unit tests
 * run against. The contract tests (test/contract/directory.contract.test.ts) hold it to the real
 * adapter's behaviour: ids are GUIDs, matched whatever their case and answered in lower case; a ref's
 * objectId, when given, names the app; an expired secret is refused, not waited for.
 */
export class FakeDirectory implements DirectoryPort {
  /** Keyed by lower-cased appId; the ids inside are lower-cased too, as the adapter answers them. */
  readonly #apps = new Map<string, FakeApp>();
  readonly #clock: Clock;
  readonly #failures: { operation: Operation; error: RotatorError }[] = [];
  readonly calls: Record<Operation, number> = {
    readApp: 0,
    readApps: 0,
    addPassword: 0,
    removePassword: 0,
    waitUntilAccepted: 0,
  };
  readonly issuedSecrets: string[] = [];
  maxPasswords = 1_000;
  /** Called inside addPassword after the key exists, before it is returned (crash tests). */
  onKeyCreated: ((keyId: string) => void) | undefined;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  addApp(tenantId: string, appId: string = randomUUID(), objectId: string = randomUUID()): SecondaryApp {
    const app: FakeApp = {
      tenantId,
      appId: appId.toLowerCase(),
      objectId: objectId.toLowerCase(),
      displayName: `app ${appId.slice(0, 8)}`,
      passwords: [],
    };
    this.#apps.set(app.appId, app);
    return this.#view(app);
  }

  /** A password made outside the rotator (an unmanaged key), `ageMs` old. */
  seedPassword(
    appId: string,
    options: { displayName?: string | null; ageMs?: number; lifetimeMs?: number } = {},
  ): { keyId: string; secret: string } {
    const start = this.#clock.now() - (options.ageMs ?? 0);
    const created = this.#create(
      this.#app(appId),
      options.displayName === undefined ? 'made by hand' : options.displayName,
      new Date(start),
      new Date(start + (options.lifetimeMs ?? 365 * 86_400_000)),
    );
    return { keyId: created.keyId, secret: created.secret };
  }

  /** The next call of `operation` throws `error` (queued in order). */
  failNext(operation: Operation, error: RotatorError): void {
    this.#failures.push({ operation, error });
  }

  accepts(appId: string, secret: string): boolean {
    const now = this.#clock.now();
    return (this.#apps.get(appId.toLowerCase())?.passwords ?? []).some(
      (password) =>
        password.secret === secret &&
        Date.parse(password.startDateTime) <= now &&
        now < Date.parse(password.endDateTime),
    );
  }

  keyIds(appId: string): string[] {
    return this.#app(appId).passwords.map((password) => password.keyId);
  }

  passwords(appId: string): SecondaryApp['passwords'] {
    return this.#view(this.#app(appId)).passwords;
  }

  async readApp(ref: AppRef): Promise<SecondaryApp> {
    this.#count('readApp');
    return this.#view(this.#find(ref));
  }

  async readApps(refs: readonly AppRef[]): Promise<Map<string, SecondaryApp | RotatorError>> {
    this.#count('readApps');
    const out = new Map<string, SecondaryApp | RotatorError>();
    for (const ref of refs) {
      try {
        out.set(ref.appId.toLowerCase(), this.#view(this.#find(ref)));
      } catch (error) {
        out.set(ref.appId.toLowerCase(), error as RotatorError);
      }
    }
    return out;
  }

  async addPassword(app: SecondaryApp, request: AddPasswordRequest): Promise<NewPassword> {
    this.#count('addPassword');
    const target = this.#find(app);
    const start = request.startDateTime ?? new Date(this.#clock.now());
    if (request.endDateTime.getTime() <= start.getTime()) {
      throw new GraphHttpStatusError(
        'addPassword',
        400,
        'Request_BadRequest',
        'Password credential end date must be after its start date.',
      );
    }
    if (target.passwords.length >= this.maxPasswords) {
      throw new GraphTooManyPasswordsError(
        `app ${app.appId} in tenant ${app.tenantId} holds as many passwords as it may`,
      );
    }
    const created = this.#create(target, request.displayName, start, request.endDateTime);
    this.onKeyCreated?.(created.keyId);
    const { secret, ...info } = created;
    return { ...info, secret: new Secret(secret) };
  }

  async removePassword(
    app: Pick<SecondaryApp, 'tenantId' | 'appId' | 'objectId'>,
    keyId: string,
  ): Promise<'removed' | 'absent'> {
    this.#count('removePassword');
    const target = this.#find(app);
    const before = target.passwords.length;
    target.passwords = target.passwords.filter((password) => password.keyId !== keyId.toLowerCase());
    return target.passwords.length < before ? 'removed' : 'absent';
  }

  async waitUntilAccepted(ref: AppRef, secret: Secret): Promise<ReadinessResult> {
    this.#count('waitUntilAccepted');
    const text = secret.reveal();
    if (this.accepts(ref.appId, text)) return { attempts: 1, waitedMs: 0 };
    const now = this.#clock.now();
    const expired = (this.#apps.get(ref.appId.toLowerCase())?.passwords ?? []).some(
      (password) => password.secret === text && now >= Date.parse(password.endDateTime),
    );
    // Entra answers an expired secret with AADSTS7000222, which no amount of waiting cures.
    if (expired) {
      throw new EntraSecretRejectedError(
        `Entra refused the new secret of app ${ref.appId} in tenant ${ref.tenantId}: AADSTS7000222 The provided client secret keys are expired.`,
        7_000_222,
      );
    }
    throw new EntraReadinessTimeoutError(ref.appId, 0, 1);
  }

  #count(operation: Operation): void {
    this.calls[operation] += 1;
    const index = this.#failures.findIndex((failure) => failure.operation === operation);
    const failure = index >= 0 ? this.#failures.splice(index, 1)[0] : undefined;
    if (failure !== undefined) throw failure.error;
  }

  #create(app: FakeApp, displayName: string | null, start: Date, end: Date): FakePassword {
    const secret = `fake-${randomBytes(18).toString('base64url')}`;
    const password = {
      keyId: randomUUID(),
      displayName,
      startDateTime: start.toISOString(),
      endDateTime: end.toISOString(),
      hint: secret.slice(0, 3),
      secret,
    };
    app.passwords.push(password);
    this.issuedSecrets.push(secret);
    return password;
  }

  /** As the adapter addresses an app: by its objectId when known, else by its appId. */
  #find(ref: Pick<AppRef, 'appId' | 'tenantId' | 'objectId'>): FakeApp {
    const app =
      ref.objectId === undefined
        ? this.#apps.get(ref.appId.toLowerCase())
        : [...this.#apps.values()].find((candidate) => candidate.objectId === ref.objectId?.toLowerCase());
    if (app === undefined || app.tenantId !== ref.tenantId) {
      throw new GraphAppNotFoundError(`Graph found no app ${ref.appId} in tenant ${ref.tenantId}`);
    }
    return app;
  }

  #app(appId: string): FakeApp {
    const app = this.#apps.get(appId.toLowerCase());
    if (app === undefined) throw new Error(`no fake app ${appId}`);
    return app;
  }

  #view(app: FakeApp): SecondaryApp {
    return {
      tenantId: app.tenantId,
      appId: app.appId,
      objectId: app.objectId,
      displayName: app.displayName,
      passwords: app.passwords.map(({ secret: _secret, ...info }) => info),
    };
  }
}
