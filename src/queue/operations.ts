import { Cluster, Redis } from 'ioredis';
import { QueueEvents, type ConnectionOptions, type Job, type Queue } from 'bullmq';
import type { RotatorConfig, TargetConfig } from '../config/types.ts';
import type { FailureStep, LastResult, Step } from '../rotation/ledger-model.ts';
import { UNKNOWN_KEY } from '../rotation/ledger-model.ts';
import type { LedgerPort } from '../rotation/ports.ts';
import type { DeadLetterFilter, DeadLetterItem } from './dead-letters.ts';
import { rotateJobId, type RotateJobData, type RotateJobResult } from './job-data.ts';
import { enqueueRotation, type EnqueueState, type Queues } from './rotation-queue.ts';

/**
 * What operators do with the queue, as plain data in and out: the CLI prints these results, and the
 * admin HTTP API will serve them. Nothing here prints, exits or reads the process environment.
 */

/** A request that names nothing, or names what the configuration does not have (the CLI exits 2). */
export class SelectionError extends Error {
  override readonly name = 'SelectionError';
}

// ---------------------------------------------------------------------------------------------
// Choosing targets

export interface TargetSelection {
  /** appIds or target names (case-insensitive). */
  readonly apps?: readonly string[] | undefined;
  /** Connector UUIDs: every target that lists one of them. */
  readonly connectors?: readonly string[] | undefined;
  readonly all?: boolean | undefined;
}

/** The configured targets a selection names, in configuration order. Exactly one way of selecting. */
export function resolveTargets(config: RotatorConfig, selection: TargetSelection): TargetConfig[] {
  const ways = [
    selection.apps !== undefined && selection.apps.length > 0,
    selection.connectors !== undefined && selection.connectors.length > 0,
    selection.all === true,
  ].filter(Boolean).length;
  if (ways !== 1) throw new SelectionError('select targets in exactly one way: by app, by connector, or all');
  if (selection.all === true) return [...config.targets];
  if (selection.apps !== undefined && selection.apps.length > 0) return byApp(config.targets, selection.apps);
  return byConnector(config.targets, selection.connectors ?? []);
}

function byApp(targets: readonly TargetConfig[], wanted: readonly string[]): TargetConfig[] {
  const keys = new Set(wanted.map((value) => value.toLowerCase()));
  const selected = targets.filter((target) => keys.has(target.appId) || keys.has(target.name.toLowerCase()));
  const unknown = [...keys].filter(
    (key) => !selected.some((target) => target.appId === key || target.name.toLowerCase() === key),
  );
  if (unknown.length > 0) throw new SelectionError(`no configured target has the app ${unknown.join(', ')}`);
  return selected;
}

function byConnector(targets: readonly TargetConfig[], wanted: readonly string[]): TargetConfig[] {
  const keys = new Set(wanted.map((value) => value.toLowerCase()));
  const selected = targets.filter((target) => target.connectors.some((connector) => keys.has(connector)));
  const unknown = [...keys].filter((key) => !targets.some((target) => target.connectors.includes(key)));
  if (unknown.length > 0)
    throw new SelectionError(`no configured target lists the connector ${unknown.join(', ')}`);
  return selected;
}

// ---------------------------------------------------------------------------------------------
// Enqueueing and waiting

export interface EnqueuedTarget {
  readonly appId: string;
  readonly name: string;
  /** `already-queued`: merged into the waiting job; `running`: one runs now and this request is dropped. */
  readonly state: EnqueueState;
}

/** Queues one rotate job per selected target, as an operator's request. */
export async function enqueueTargets(
  queues: Pick<Queues, 'rotation'>,
  config: RotatorConfig,
  selection: TargetSelection,
  forced: boolean,
): Promise<EnqueuedTarget[]> {
  const targets = resolveTargets(config, selection);
  const results: EnqueuedTarget[] = [];
  // One at a time: each is three quick Redis calls, and the order of the answer stays the configuration's.
  for (const target of targets) {
    const state = await enqueueRotation(queues.rotation, config.worker, {
      appId: target.appId,
      forced,
      origin: 'operator',
    });
    results.push({ appId: target.appId, name: target.name, state });
  }
  return results;
}

/** A position in the queue's event stream; events after it are delivered to a later wait. */
export type EventMark = string;

/**
 * The id of the newest event of the queue, to take before enqueueing: a wait that starts from it sees
 * the outcome of a job that finishes (and is removed) before the wait begins.
 */
export async function markRotationEvents(queue: Queue): Promise<EventMark> {
  const redis = redisOf(queue.opts.connection);
  if (redis === undefined) throw new TypeError('the queue was opened without an ioredis connection');
  const newest = await redis.xrevrange(queue.toKey('events'), '+', '-', 'COUNT', 1);
  // An empty (or not yet created) stream: from its very start.
  return newest[0]?.[0] ?? '0-0';
}

export type WaitStatus =
  | 'rotated'
  | 'partial'
  | 'failed'
  | 'skipped'
  /** The job failed for good (its last attempt, or a permanent error): the reason is in `message`. */
  | 'errored'
  | 'removed'
  | 'timed-out'
  /** No rotate job of this app was queued or running when the wait began (without a mark only). */
  | 'not-queued';

export interface WaitOutcome {
  readonly appId: string;
  readonly status: WaitStatus;
  /** What the completed job returned. */
  readonly result?: RotateJobResult | undefined;
  readonly message?: string | undefined;
  /** Where a job that timed out stands: `delayed` with attempts made is a retry waiting its turn. */
  readonly pending?:
    | { readonly state: string; readonly attemptsMade: number; readonly lastError?: string | undefined }
    | undefined;
}

export interface WaitOptions {
  /** Read events from this mark (taken with `markRotationEvents` before enqueueing). */
  readonly since?: EventMark | undefined;
  /**
   * Apps whose job was newly added after `since`: only an outcome after that add counts, because an
   * older job of the same app may finish between the mark and the add.
   */
  readonly newlyQueued?: readonly string[] | undefined;
}

/** States of a job that had not finished: removing it from one of them ends the wait for it. */
const PENDING_STATES = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children', 'active', 'paused']);

/**
 * Waits for the rotate jobs of `appIds` to finish, at most `timeoutMs`. A job that fails with attempts
 * left is still pending (BullMQ emits `failed` only once it gives up), so its outcome is the final one.
 */
export async function waitForRotations(
  queue: Queue,
  appIds: readonly string[],
  timeoutMs: number,
  options: WaitOptions = {},
): Promise<WaitOutcome[]> {
  const wanted = new Map([...new Set(appIds)].map((appId) => [rotateJobId(appId), appId]));
  const outcomes = new Map<string, WaitOutcome>();
  if (wanted.size === 0) return [];
  // Listen before checking: jobs are removed when they finish, so only their events remain.
  const since = options.since ?? (await markRotationEvents(queue));
  const needsAdd = new Set((options.newlyQueued ?? []).map(rotateJobId));
  let allDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (allDone = resolve));
  const settle = (jobId: string, outcome: Omit<WaitOutcome, 'appId'>): void => {
    const appId = wanted.get(jobId);
    if (appId === undefined || outcomes.has(appId) || needsAdd.has(jobId)) return;
    outcomes.set(appId, { appId, ...outcome });
    if (outcomes.size === wanted.size) allDone();
  };

  const connection = eventsConnection(queue.opts.connection);
  const events = new QueueEvents<unknown>(queue.name, {
    connection: connection.options,
    ...(queue.opts.prefix === undefined ? {} : { prefix: queue.opts.prefix }),
    lastEventId: since,
  });
  let streamError: Error | undefined;
  events.on('error', (error) => {
    streamError = error;
  });
  events.on('added', ({ jobId }) => needsAdd.delete(jobId));
  events.on('completed', ({ jobId, returnvalue }) => settle(jobId, fromReturnValue(returnvalue)));
  events.on('failed', ({ jobId, failedReason }) =>
    settle(jobId, { status: 'errored', message: failedReason }),
  );
  events.on('removed', ({ jobId, prev }) => {
    // enqueueRotation removes a finished job it finds before adding the new one: not an outcome.
    if (PENDING_STATES.has(prev))
      settle(jobId, { status: 'removed', message: `the job was removed while ${prev}` });
  });

  let timer: NodeJS.Timeout | undefined;
  try {
    if (options.since === undefined) {
      // Without a mark from before the enqueue, a job that is gone now either finished after the mark
      // (its event, written with its removal, is in the stream and on its way to the listener) or was
      // never there.
      for (const [jobId, appId] of wanted) {
        if ((await queue.getJob(jobId)) !== undefined || outcomes.has(appId)) continue;
        if (!(await finishedSince(queue, since, jobId)))
          settle(jobId, { status: 'not-queued', message: 'no rotation of this app is queued or running' });
      }
    }
    await Promise.race([done, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  } finally {
    clearTimeout(timer);
    await events.close();
    await connection.release();
  }

  const results: WaitOutcome[] = [];
  for (const [jobId, appId] of wanted) {
    results.push(outcomes.get(appId) ?? (await timedOut(queue, jobId, appId, timeoutMs, streamError)));
  }
  return results;
}

/**
 * Whether the stream holds, after `since`, an event that ends the job for the listener (the same
 * events it settles on). XRANGE's exclusive `(` start needs Redis 6.2, the rotator's minimum.
 */
async function finishedSince(queue: Queue, since: EventMark, jobId: string): Promise<boolean> {
  const redis = redisOf(queue.opts.connection);
  if (redis === undefined) return false;
  const entries = await redis.xrange(queue.toKey('events'), `(${since}`, '+');
  return entries.some(([, fields]) => {
    const event = new Map<string, string>();
    for (let index = 0; index + 1 < fields.length; index += 2)
      event.set(fields[index] ?? '', fields[index + 1] ?? '');
    if (event.get('jobId') !== jobId) return false;
    const name = event.get('event');
    return (
      name === 'completed' ||
      name === 'failed' ||
      (name === 'removed' && PENDING_STATES.has(event.get('prev') ?? ''))
    );
  });
}

function fromReturnValue(value: unknown): Omit<WaitOutcome, 'appId'> {
  if (isRecord(value) && typeof value.skipped === 'string')
    return { status: 'skipped', message: value.skipped };
  if (isRecord(value) && typeof value.outcome === 'string' && typeof value.appId === 'string') {
    const result = value as unknown as RotateJobResult;
    const status: WaitStatus =
      result.outcome === 'rotated' ||
      result.outcome === 'partial' ||
      result.outcome === 'failed' ||
      result.outcome === 'skipped'
        ? result.outcome
        : 'failed';
    return { status, result };
  }
  return { status: 'failed', message: 'the job returned no rotation result' };
}

async function timedOut(
  queue: Queue,
  jobId: string,
  appId: string,
  timeoutMs: number,
  streamError: Error | undefined,
): Promise<WaitOutcome> {
  const job = (await queue.getJob(jobId)) as Job<RotateJobData> | undefined;
  const reason = streamError ? ` (event stream error: ${streamError.message})` : '';
  if (job === undefined)
    return { appId, status: 'timed-out', message: `no outcome within ${timeoutMs} ms${reason}` };
  const state = await job.getState();
  return {
    appId,
    status: 'timed-out',
    message: `still ${state} after ${timeoutMs} ms${reason}`,
    pending: {
      state,
      attemptsMade: job.attemptsMade,
      ...(job.failedReason ? { lastError: job.failedReason } : {}),
    },
  };
}

/** The ioredis client behind a queue, when it was opened with one (as `openQueues` does). */
function redisOf(connection: ConnectionOptions): Redis | Cluster | undefined {
  return connection instanceof Redis || connection instanceof Cluster ? connection : undefined;
}

/**
 * QueueEvents blocks on XREAD, which BullMQ allows only on a connection that retries forever; a CLI's
 * producer connection gives up after one retry. So the events get a lazy copy of it that retries (the
 * wait's timeout bounds it), which BullMQ duplicates again and owns; the copy itself never connects.
 */
function eventsConnection(connection: ConnectionOptions): {
  options: ConnectionOptions;
  release: () => Promise<void>;
} {
  const redis = redisOf(connection);
  if (redis === undefined) return { options: connection, release: () => Promise.resolve() };
  const copy =
    redis instanceof Cluster
      ? redis.duplicate(undefined, {
          lazyConnect: true,
          enableOfflineQueue: true,
          redisOptions: { ...redis.options.redisOptions, maxRetriesPerRequest: null },
        })
      : redis.duplicate({ lazyConnect: true, enableOfflineQueue: true, maxRetriesPerRequest: null });
  return {
    options: copy,
    release: () => {
      copy.disconnect();
      return Promise.resolve();
    },
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

// ---------------------------------------------------------------------------------------------
// Status

export type JobStateSummary = 'waiting' | 'delayed' | 'active' | 'none';

export interface ConnectorStatus {
  readonly connectorId: string;
  /** The key this connector holds per our last push; `undefined` before the rotator's first push to it. */
  readonly keyId: string | undefined;
  /** Keys pushed with an unknown outcome, which the connector may hold instead. */
  readonly mayHold: readonly string[];
  readonly pushedAt: string | undefined;
  readonly verifiedAt: string | undefined;
}

export interface TargetStatus {
  readonly name: string;
  readonly appId: string;
  readonly tenant: { readonly id: string; readonly name: string | undefined };
  /** False until a first run adopted the target into the ledger. */
  readonly adopted: boolean;
  readonly connectors: readonly ConnectorStatus[];
  readonly currentKeyId: string | undefined;
  readonly currentKeyExpiresAt: string | undefined;
  readonly lastResult: LastResult | undefined;
  readonly lastSuccessAt: string | undefined;
  readonly nextDueAt: string | undefined;
  readonly pendingRetirements: readonly { readonly keyId: string; readonly notBefore: string }[];
  /** A rotation that started and has not finished (it runs now, or crashed and the next run resumes it). */
  readonly inFlight:
    | { readonly rotationId: string; readonly step: Step | FailureStep; readonly startedAt: string }
    | undefined;
  /** The next run rotates whatever the dates say: a key may be held where a push was not confirmed. */
  readonly rotateAgain: boolean;
  readonly job: {
    readonly state: JobStateSummary;
    readonly forced?: boolean | undefined;
    readonly origin?: RotateJobData['origin'] | undefined;
    readonly attemptsMade?: number | undefined;
    /** The error of the last failed attempt, for a job waiting to retry. */
    readonly lastError?: string | undefined;
  };
  readonly deadLetters: number;
}

/** Where every target (or the selected ones) stands: the ledger, the queue and the dead-letter queue. */
export async function targetStatuses(
  ledger: Pick<LedgerPort, 'readMany'>,
  queues: Pick<Queues, 'rotation' | 'deadLetters'>,
  config: RotatorConfig,
  selection: TargetSelection = { all: true },
): Promise<TargetStatus[]> {
  const targets = resolveTargets(config, selection);
  const [records, jobs, letters] = await Promise.all([
    ledger.readMany(targets.map((target) => target.appId)),
    Promise.all(targets.map((target) => jobSummary(queues.rotation, target.appId))),
    queues.deadLetters.list(),
  ]);
  const tenants = new Map(config.azure.tenants.map((tenant) => [tenant.id, tenant.name]));
  return targets.map((target, index): TargetStatus => {
    const record = records.get(target.appId);
    return {
      name: target.name,
      appId: target.appId,
      tenant: { id: target.tenantId, name: tenants.get(target.tenantId) },
      adopted: record !== undefined,
      connectors: target.connectors.map((connectorId): ConnectorStatus => {
        const state = record?.connectors[connectorId];
        return {
          connectorId,
          keyId: state === undefined || state.keyId === UNKNOWN_KEY ? undefined : state.keyId,
          mayHold: [...(state?.mayHold ?? [])],
          pushedAt: state?.pushedAt,
          verifiedAt: state?.verifiedAt,
        };
      }),
      currentKeyId: record?.currentKeyId,
      currentKeyExpiresAt: record?.currentKeyExpiresAt,
      lastResult: record?.lastResult,
      lastSuccessAt: record?.lastSuccessAt,
      nextDueAt: record?.nextDueAt,
      pendingRetirements: [...(record?.pendingRetirements ?? [])],
      inFlight: record?.inFlight
        ? {
            rotationId: record.inFlight.rotationId,
            step: record.inFlight.step,
            startedAt: record.inFlight.startedAt,
          }
        : undefined,
      rotateAgain: record?.rotateAgain === true,
      job: jobs[index] ?? { state: 'none' },
      deadLetters: letters.filter((letter) => letter.appId === target.appId).length,
    };
  });
}

async function jobSummary(queue: Queue, appId: string): Promise<TargetStatus['job']> {
  const job = (await queue.getJob(rotateJobId(appId))) as Job<RotateJobData> | undefined;
  if (job === undefined) return { state: 'none' };
  const state = await job.getState();
  const summary: JobStateSummary =
    state === 'active'
      ? 'active'
      : state === 'delayed'
        ? 'delayed'
        : state === 'waiting' || state === 'prioritized' || state === 'waiting-children'
          ? 'waiting'
          : 'none';
  if (summary === 'none') return { state: 'none' };
  return {
    state: summary,
    forced: job.data.forced,
    origin: job.data.origin,
    attemptsMade: job.attemptsMade,
    ...(job.failedReason ? { lastError: job.failedReason } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Dead letters

export interface DeadLetterSelection {
  readonly ids?: readonly string[] | undefined;
  readonly filter?: DeadLetterFilter | undefined;
  readonly all?: boolean | undefined;
}

export function listDeadLetters(
  queues: Pick<Queues, 'deadLetters'>,
  filter: DeadLetterFilter = {},
): Promise<DeadLetterItem[]> {
  return queues.deadLetters.list(filter);
}

export function showDeadLetter(
  queues: Pick<Queues, 'deadLetters'>,
  id: string,
): Promise<DeadLetterItem | undefined> {
  return queues.deadLetters.get(id);
}

/** The items a selection names, and the ids it names that do not exist. */
async function selectDeadLetters(
  queues: Pick<Queues, 'deadLetters'>,
  selection: DeadLetterSelection,
): Promise<{ items: DeadLetterItem[]; notFound: string[] }> {
  const filter = selection.filter ?? {};
  const hasFilter = Object.values(filter).some((value) => value !== undefined);
  const ways = [selection.ids !== undefined && selection.ids.length > 0, hasFilter, selection.all === true];
  if (ways.filter(Boolean).length !== 1)
    throw new SelectionError('select dead letters in exactly one way: by id, by filter, or all');
  if (selection.all === true || hasFilter)
    return { items: await queues.deadLetters.list(filter), notFound: [] };
  const items: DeadLetterItem[] = [];
  const notFound: string[] = [];
  for (const id of new Set(selection.ids)) {
    const item = await queues.deadLetters.get(id);
    if (item === undefined) notFound.push(id);
    else items.push(item);
  }
  return { items, notFound };
}

export interface ReplayResult {
  /** Apps a forced rotation was requested for, with the items that request replaces. */
  readonly replayed: readonly {
    readonly appId: string;
    readonly name: string;
    readonly state: EnqueueState;
    readonly items: readonly string[];
  }[];
  /** Items left in the queue, and why. */
  readonly left: readonly {
    readonly appId: string;
    readonly items: readonly string[];
    readonly reason: string;
  }[];
  readonly notFound: readonly string[];
}

/**
 * Replays dead letters: one forced rotation per app (a rotation retries all its connectors), then
 * removes the items it replaces. Items of apps the configuration no longer lists, or whose rotation is
 * running now (which would drop the forced request), stay.
 */
export async function replayDeadLetters(
  queues: Pick<Queues, 'rotation' | 'deadLetters'>,
  config: RotatorConfig,
  selection: DeadLetterSelection,
): Promise<ReplayResult> {
  const { items, notFound } = await selectDeadLetters(queues, selection);
  const byApp = new Map<string, DeadLetterItem[]>();
  for (const item of items) byApp.set(item.appId, [...(byApp.get(item.appId) ?? []), item]);
  const targets = new Map(config.targets.map((target) => [target.appId, target]));
  const replayed: ReplayResult['replayed'][number][] = [];
  const left: ReplayResult['left'][number][] = [];
  for (const [appId, appItems] of byApp) {
    const ids = appItems.map((item) => item.id);
    const target = targets.get(appId);
    if (target === undefined) {
      left.push({ appId, items: ids, reason: 'the app is not in the configuration' });
      continue;
    }
    const state = await enqueueRotation(queues.rotation, config.worker, {
      appId,
      forced: true,
      origin: 'replay',
    });
    if (state === 'running') {
      left.push({ appId, items: ids, reason: 'a rotation of this app is running now; replay once it ends' });
      continue;
    }
    // The replayed rotation may already have failed again and updated an item: that newer failure stays.
    const removable: string[] = [];
    for (const item of appItems) {
      const now = await queues.deadLetters.get(item.id);
      if (now !== undefined && now.lastFailureAt === item.lastFailureAt) removable.push(item.id);
    }
    await queues.deadLetters.remove(removable);
    replayed.push({ appId, name: target.name, state, items: ids });
  }
  return { replayed, left, notFound };
}

export interface PurgeResult {
  readonly removed: readonly string[];
  readonly notFound: readonly string[];
}

export async function purgeDeadLetters(
  queues: Pick<Queues, 'deadLetters'>,
  selection: DeadLetterSelection,
): Promise<PurgeResult> {
  const { items, notFound } = await selectDeadLetters(queues, selection);
  const removed: string[] = [];
  for (const item of items) if ((await queues.deadLetters.remove([item.id])) > 0) removed.push(item.id);
  return { removed, notFound };
}
