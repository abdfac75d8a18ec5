import { z } from 'zod';
import type { FailureStep, LastResult, PushStatus, Step, TargetRecord } from '../rotation/ledger-model.ts';
import type { HistoryEntry, RotationOutcome } from '../rotation/ports.ts';
import { LedgerCorruptError } from './ledger-corrupt-error.ts';
import { LedgerWriteRejectedError } from './ledger-write-rejected-error.ts';

/**
 * Both ledgers store the same JSON text through these functions, so the in-memory ledger that the
 * engine's unit tests use refuses and returns exactly what Redis would.
 */

/**
 * The model's unions exist only as types; these lists repeat them for the runtime check, and the
 * helper stops compiling when the model gains a member the list lacks.
 */
function allOf<T extends string>() {
  return <const A extends readonly T[]>(values: A & ([T] extends [A[number]] ? unknown : never)): A => values;
}

const STEPS = allOf<Step>()(['intent', 'created', 'ready', 'push-intent', 'pushed', 'synced', 'verified']);
const FAILURE_STEPS = allOf<FailureStep>()(['plan', 'create', 'ready', 'push', 'verify', 'retire']);
const PUSH_STATUSES = allOf<PushStatus>()(['succeeded', 'failed', 'unconfirmed']);
const LAST_OUTCOMES = allOf<LastResult['outcome']>()(['rotated', 'partial', 'failed', 'compensated']);
const ROTATION_OUTCOMES = allOf<RotationOutcome>()([
  'rotated',
  'partial',
  'failed',
  'skipped',
  'compensated',
  'retired',
]);

// Loose objects: a newer replica may add fields during a rolling upgrade, and an older one that reads,
// spreads and writes the record back must carry them along rather than refuse or drop them.
const text = z.string();

const connectorState = z.looseObject({
  keyId: text,
  mayHold: z.array(text),
  pushedAt: text.optional(),
  verifiedAt: text.optional(),
  rotationId: text.optional(),
});

const inFlight = z.looseObject({
  rotationId: text,
  startedAt: text,
  forced: z.boolean(),
  step: z.enum(STEPS),
  displayName: text,
  keyId: text.optional(),
  keyEndDateTime: text.optional(),
  pushTo: z.array(text).optional(),
  pushOutcomes: z.record(text, z.enum(PUSH_STATUSES)).optional(),
});

const lastResult = z.looseObject({
  rotationId: text,
  at: text,
  outcome: z.enum(LAST_OUTCOMES),
  errorCode: text.optional(),
  message: text.optional(),
  step: z.enum([...FAILURE_STEPS, ...STEPS]).optional(),
});

const targetRecordSchema: z.ZodType<TargetRecord> = z.looseObject({
  appId: text.min(1),
  tenantId: text.min(1),
  connectors: z.record(text, connectorState),
  currentKeyId: text.optional(),
  currentKeyExpiresAt: text.optional(),
  allKnownSince: text.optional(),
  releasedKeys: z.record(text, text),
  pendingRetirements: z.array(z.looseObject({ keyId: text, notBefore: text })),
  lastResult: lastResult.optional(),
  lastSuccessAt: text.optional(),
  nextDueAt: text.optional(),
  connectorsSeen: z.array(text).optional(),
  rotateAgain: z.boolean().optional(),
  inFlight: inFlight.optional(),
});

const historyEntrySchema: z.ZodType<HistoryEntry> = z.looseObject({
  rotationId: text,
  at: text,
  outcome: z.enum(ROTATION_OUTCOMES),
  keyId: text.optional(),
  connectorsVerified: z.number().int().nonnegative().optional(),
  connectorsFailed: z.number().int().nonnegative().optional(),
  errorCode: text.optional(),
  message: text.optional(),
});

/** Lower case: `clientSecret` is not listed, `Password` and `SecretText` are caught. */
const SECRET_FIELD_NAMES = new Set(['secret', 'secrettext', 'password', 'token']);

/**
 * The types already keep secret text out of the ledger; this catches the mistake they cannot, such as
 * a spread of Graph's addPassword answer (which has `secretText`) cast into a record.
 */
export function findSecretField(value: unknown, path: readonly string[] = []): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  for (const [name, child] of Object.entries(value)) {
    const childPath = [...path, name];
    if (SECRET_FIELD_NAMES.has(name.toLowerCase())) return childPath.join('.');
    const found = findSecretField(child, childPath);
    if (found !== undefined) return found;
  }
  return undefined;
}

function describeIssues(error: z.ZodError): string {
  // Zod's messages name the expected and received types, never the values.
  const shown = error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length === 0 ? '(root)' : issue.path.join('.')}: ${issue.message}`);
  const more = error.issues.length > 3 ? `; and ${error.issues.length - 3} more` : '';
  return `${shown.join('; ')}${more}`;
}

function encode<T>(key: string, value: T, schema: z.ZodType<T>, what: string): string {
  const secretField = findSecretField(value);
  if (secretField !== undefined)
    throw new LedgerWriteRejectedError(
      key,
      `the ${what} has a field named "${secretField}", and secret text must never be stored`,
    );
  const result = schema.safeParse(value);
  if (!result.success)
    throw new LedgerWriteRejectedError(key, `not a valid ${what} (${describeIssues(result.error)})`);
  return JSON.stringify(value);
}

function decode<T>(key: string, stored: string, schema: z.ZodType<T>, what: string): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stored);
  } catch {
    // JSON.parse's message quotes the text, which must not reach a log.
    throw new LedgerCorruptError(key, `text that is not JSON (${stored.length} chars)`);
  }
  const result = schema.safeParse(parsed);
  if (!result.success)
    throw new LedgerCorruptError(key, `JSON that is not a ${what} (${describeIssues(result.error)})`);
  return result.data;
}

export function encodeRecord(key: string, record: TargetRecord): string {
  return encode(key, record, targetRecordSchema, 'target record');
}

export function decodeRecord(key: string, stored: string, appId: string): TargetRecord {
  const record = decode(key, stored, targetRecordSchema, 'target record');
  if (record.appId !== appId)
    throw new LedgerCorruptError(key, `the record of another app (${record.appId})`);
  return record;
}

export function encodeHistoryEntry(key: string, entry: HistoryEntry): string {
  return encode(key, entry, historyEntrySchema, 'history entry');
}

export function decodeHistoryEntry(key: string, stored: string): HistoryEntry {
  return decode(key, stored, historyEntrySchema, 'history entry');
}

export const DEFAULT_HISTORY_LIMIT = 100;

/** Shared argument checks, so both ledgers fail the same way (Redis would reject some of these late). */
export function checkHistoryLimit(limit: number, name: string): void {
  if (!Number.isSafeInteger(limit) || limit < 1)
    throw new RangeError(`${name} must be a whole number of at least 1, got ${limit}`);
}

export function checkReadLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 0)
    throw new RangeError(`history limit must be a whole number of at least 0, got ${limit}`);
}

export function checkLockArguments(owner: string, ttlMs?: number): void {
  if (owner === '') throw new RangeError('a lock owner must not be empty');
  if (ttlMs !== undefined && (!Number.isSafeInteger(ttlMs) || ttlMs < 1))
    throw new RangeError(`a lock TTL must be a whole number of milliseconds, at least 1, got ${ttlMs}`);
}
