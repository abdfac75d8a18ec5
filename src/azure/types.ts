import type { Secret } from '../util/secret.ts';

/** How to find a secondary app: its tenant and appId, and its object id when known (saves a lookup). */
export interface AppRef {
  readonly tenantId: string;
  readonly appId: string;
  readonly objectId?: string | undefined;
}

/** A password credential as Graph describes it after creation: never the secret text. */
export interface PasswordCredentialInfo {
  readonly keyId: string;
  readonly displayName: string | null;
  readonly startDateTime: string | null;
  readonly endDateTime: string | null;
  /** The first characters of the secret, as Graph shows them; not secret by design. */
  readonly hint: string | null;
}

/** A secondary app and its password credentials. */
export interface SecondaryApp {
  readonly tenantId: string;
  readonly appId: string;
  readonly objectId: string;
  readonly displayName: string | null;
  readonly passwords: readonly PasswordCredentialInfo[];
}

/** A password just created: the only moment its text exists. It lives in memory only. */
export interface NewPassword extends PasswordCredentialInfo {
  readonly secret: Secret;
}

export interface AddPasswordRequest {
  /** Names the rotation that created the key, so an ambiguous failure can be reconciled. */
  readonly displayName: string;
  readonly endDateTime: Date;
  readonly startDateTime?: Date | undefined;
}

export interface ReadinessResult {
  readonly attempts: number;
  readonly waitedMs: number;
}

export type GraphOperation = 'readApp' | 'listApps' | 'batch' | 'addPassword' | 'removePassword';

/** One HTTP exchange with Graph or Entra, for metrics and request-count tests. */
export interface AzureRequestEvent {
  readonly service: 'graph' | 'entra';
  readonly tenantId: string;
  readonly operation: GraphOperation | 'probe';
  /** HTTP status; 0 when no answer came. */
  readonly status: number;
  readonly durationMs: number;
}
