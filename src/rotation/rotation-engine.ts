import type { SecondaryApp } from '../azure/types.ts';
import type { RotationPolicy, TargetConfig } from '../config/types.ts';
import { ErrorCodes } from '../errors/codes.ts';
import { asRotatorError } from '../errors/internal-error.ts';
import type { RotatorError } from '../errors/rotator-error.ts';
import type { ConnectorMapping } from '../qualys/types.ts';
import { assessDue } from './due.ts';
import { planRotation, type RotationPlan } from './dry-run.ts';
import { keyDisplayName, newRotationId } from './key-names.ts';
import { applyPushOutcomes, applyVerification } from './ledger-updates.ts';
import {
  emptyRecord,
  UNKNOWN_KEY,
  type FailureStep,
  type InFlightRotation,
  type Step,
  type TargetRecord,
} from './ledger-model.ts';
import type { Clock, ConnectorApiPort, DirectoryPort, LedgerPort } from './ports.ts';
import type { PushCoordinator } from './push-coordinator.ts';
import { planRetirement } from './retire-plan.ts';
import type { ConnectorResult, DeadLetter, RotationReport } from './report.ts';
import { RotationFailedError } from './rotation-failed-error.ts';
import { RotationLockedError } from './rotation-locked-error.ts';
import { ShuttingDownError } from './shutting-down-error.ts';

/** Points where a test may stop the process (crash-safety tests); `add-returned` precedes its record. */
export type HookPoint = Step | 'add-returned' | 'retired';

export interface EngineLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface RotationEngineOptions {
  readonly directory: DirectoryPort;
  readonly connectorApi: ConnectorApiPort;
  readonly coordinator: PushCoordinator;
  readonly ledger: LedgerPort;
  readonly clock: Clock;
  readonly policy: RotationPolicy;
  readonly readinessTimeoutMs: number;
  readonly logger: EngineLogger;
  /** Identifies this process in locks. */
  readonly owner: string;
  readonly lockTtlMs?: number;
  /** Told how long each step took, from one checkpoint to the next (metrics). */
  readonly onStepTimed?: (step: HookPoint, durationMs: number) => void;
  /** Aborted when the process must stop: rotations stop at their next checkpoint. */
  readonly shutdownSignal?: AbortSignal;
  /** Test-only: called after each checkpoint (the crash tests kill the process here). */
  readonly afterStep?: (point: HookPoint, appId: string) => void | Promise<void>;
}

export interface RotateOptions {
  readonly forced?: boolean;
  /** Qualys' listing of (connector, app) pairs, shared by a sweep; listed fresh when absent. */
  readonly listing?: readonly ConnectorMapping[];
  readonly rotationId?: string;
}

const DEFAULT_LOCK_TTL_MS = 60_000;

/** What one run knows about itself, carried from step to step. */
interface RunContext {
  readonly rotationId: string;
  readonly reasons: readonly string[];
  readonly drift: readonly string[];
  readonly recovered: RotationReport['recovered'];
  readonly previousKeyId: string | undefined;
}

/** The key a run created (its secret text is not here: it stays with the push). */
interface CreatedKey {
  readonly keyId: string;
  readonly endDateTime: string | null;
}

/**
 * The rotation protocol for one target (see shared/design.md): plan → intent → create → ready →
 * push → sync → verify → retire. Every step is checkpointed in the ledger before the work that could
 * leave traces, so a run that starts after a crash finishes or undoes what the crashed one began.
 * Secret text lives only in this function's memory, between create and push.
 */
export class RotationEngine {
  readonly #o: RotationEngineOptions;
  /** Apps whose lock this process failed to renew: their rotation stops at the next checkpoint. */
  readonly #lostLocks = new Set<string>();
  /** When each running rotation passed its last checkpoint, to time its steps. */
  readonly #lastCheckpointAt = new Map<string, number>();

  constructor(options: RotationEngineOptions) {
    this.#o = options;
  }

  /** The dry run: what `rotate` would do now, without touching anything or taking the lock. */
  async plan(target: TargetConfig, options: RotateOptions = {}): Promise<RotationPlan> {
    const listing = options.listing ?? (await this.#o.connectorApi.listSecondaryApplications());
    const record = (await this.#o.ledger.read(target.appId)) ?? emptyRecord(target.appId, target.tenantId);
    const app = await this.#o.directory.readApp({
      tenantId: target.tenantId,
      appId: target.appId,
      objectId: target.objectId,
    });
    return planRotation({
      target,
      app,
      record,
      listed: listedConnectors(listing, target.appId),
      policy: this.#o.policy,
      now: this.#o.clock.now(),
      forced: options.forced ?? false,
    });
  }

  /** Rotates one target if it is due (or forced). Throws `RotationFailedError` when the whole target failed. */
  async rotate(target: TargetConfig, options: RotateOptions = {}): Promise<RotationReport> {
    return this.#withLock(target.appId, async () => {
      // Timed only once the lock is ours, so a refused second run cannot disturb the first one's clock.
      this.#lastCheckpointAt.set(target.appId, performance.now());
      try {
        return await this.#rotateLocked(target, options);
      } finally {
        this.#lastCheckpointAt.delete(target.appId);
      }
    });
  }

  /**
   * Runs `work` under the target's lock (invariant 4), renewing it while it runs. A lock that could not
   * be renewed is lost: the next checkpoint stops the rotation rather than race another process.
   */
  async #withLock<T>(appId: string, work: () => Promise<T>): Promise<T> {
    const { ledger, owner, logger } = this.#o;
    const ttl = this.#o.lockTtlMs ?? DEFAULT_LOCK_TTL_MS;
    if (!(await ledger.acquireLock(appId, owner, ttl))) throw new RotationLockedError(appId);
    const renew = setInterval(
      () => {
        ledger.renewLock(appId, owner, ttl).then(
          (held) => {
            if (!held) this.#lostLocks.add(appId);
          },
          (error: unknown) =>
            logger.warn({ appId, err: error }, 'could not renew the rotation lock; will try again'),
        );
      },
      Math.floor(ttl / 3),
    );
    try {
      return await work();
    } finally {
      clearInterval(renew);
      const lost = this.#lostLocks.delete(appId);
      if (!lost) {
        await ledger.releaseLock(appId, owner).catch((error: unknown) => {
          logger.warn({ appId, err: error }, 'could not release the rotation lock; it expires by itself');
        });
      }
    }
  }

  async #rotateLocked(target: TargetConfig, options: RotateOptions): Promise<RotationReport> {
    const { clock, directory, policy } = this.#o;
    const rotationId = options.rotationId ?? newRotationId(clock.now());
    const listing = options.listing ?? (await this.#o.connectorApi.listSecondaryApplications());
    const listed = listedConnectors(listing, target.appId);
    const drift = listed.filter((connector) => !target.connectors.includes(connector));
    if (drift.length > 0) {
      this.#o.logger.warn(
        { rotationId, appId: target.appId, tenantId: target.tenantId, step: 'plan', driftConnectors: drift },
        'Qualys lists connectors for this app that the configuration does not; old keys stay until `rotator prune` or a configuration change',
      );
    }
    let record = (await this.#o.ledger.read(target.appId)) ?? emptyRecord(target.appId, target.tenantId);
    let app = await this.#step(target, rotationId, 'plan', () =>
      directory.readApp({ tenantId: target.tenantId, appId: target.appId, objectId: target.objectId }),
    );

    let recovered: RotationReport['recovered'];
    if (record.inFlight !== undefined) {
      const resumed = await this.#recover(target, app, record, record.inFlight);
      record = resumed.record;
      recovered = resumed.recovered;
      if (resumed.report) return { ...resumed.report, recovered };
      app = await directory.readApp(app);
    }

    const unregistered = target.connectors.filter((connector) => !listed.includes(connector));
    const due = assessDue({
      app,
      record,
      policy,
      now: clock.now(),
      forced: options.forced ?? false,
      unregistered,
    });
    if (!due.due) {
      // Adopted or checked: the sweep reads the next due time from the ledger instead of asking Graph.
      record = {
        ...record,
        nextDueAt: new Date(due.nextDueAt).toISOString(),
        currentKeyId: record.currentKeyId,
        currentKeyExpiresAt:
          record.currentKeyExpiresAt ??
          app.passwords.find((password) => password.keyId === due.currentKeyId)?.endDateTime ??
          undefined,
        connectorsSeen: [...target.connectors],
      };
      const retire = await this.#retire(target, app, record, drift, rotationId);
      return {
        rotationId,
        appId: target.appId,
        outcome: 'skipped',
        reasons: [`not due until ${new Date(due.nextDueAt).toISOString()}`],
        previousKeyId: due.currentKeyId,
        connectors: {},
        recovered,
        ...retire,
        deadLetters: [],
        drift,
        nextDueAt: new Date(due.nextDueAt).toISOString(),
      };
    }
    return this.#rotateDue(target, app, record, {
      rotationId,
      reasons: due.reasons,
      listed,
      drift,
      recovered,
      forced: options.forced ?? false,
      previousKeyId: due.currentKeyId,
    });
  }

  async #rotateDue(
    target: TargetConfig,
    app: SecondaryApp,
    startRecord: TargetRecord,
    run: {
      rotationId: string;
      reasons: readonly string[];
      listed: readonly string[];
      drift: readonly string[];
      recovered: RotationReport['recovered'];
      forced: boolean;
      previousKeyId: string | undefined;
    },
  ): Promise<RotationReport> {
    const { clock, directory, policy, coordinator, logger } = this.#o;
    const { rotationId } = run;
    const log = { rotationId, appId: target.appId, tenantId: target.tenantId };
    const displayName = keyDisplayName(rotationId);
    let record = startRecord;
    let inFlight: InFlightRotation = {
      rotationId,
      startedAt: iso(clock.now()),
      forced: run.forced,
      step: 'intent',
      displayName,
    };
    record = await this.#checkpoint(target, { ...record, inFlight }, 'intent');

    const endDateTime = new Date(clock.now() + policy.secretLifetimeMs);
    const created = await this.#step(
      target,
      rotationId,
      'create',
      () => directory.addPassword(app, { displayName, endDateTime }),
      async () => {
        await this.#clearInFlight(target, record);
      },
    );
    await this.#o.afterStep?.('add-returned', target.appId);
    inFlight = {
      ...inFlight,
      step: 'created',
      keyId: created.keyId,
      keyEndDateTime: created.endDateTime ?? endDateTime.toISOString(),
    };
    record = await this.#checkpoint(target, { ...record, inFlight }, 'created');
    logger.info({ ...log, step: 'create', keyId: created.keyId }, 'new key created');

    await this.#step(
      target,
      rotationId,
      'ready',
      () =>
        directory.waitUntilAccepted(target, created.secret, {
          timeoutMs: this.#o.readinessTimeoutMs,
          ...(this.#o.shutdownSignal ? { signal: this.#o.shutdownSignal } : {}),
        }),
      () => this.#compensate(target, app, record, created.keyId),
    );
    record = await this.#checkpoint(target, { ...record, inFlight: { ...inFlight, step: 'ready' } }, 'ready');

    // Write-ahead: from here the key may reach connectors, so recovery must never remove it blindly.
    const update = target.connectors.filter((connector) => run.listed.includes(connector));
    const register = target.connectors.filter((connector) => !run.listed.includes(connector));
    inFlight = { ...inFlight, step: 'push-intent', pushTo: [...target.connectors] };
    record = await this.#checkpoint(target, { ...record, inFlight }, 'push-intent');
    let pushed;
    try {
      pushed = await coordinator.push({ appId: target.appId, secret: created.secret, update, register });
    } catch (error) {
      return this.#pushFailed(target, app, record, created.keyId, asRotatorError(error), rotationId);
    }
    const outcomes = Object.fromEntries(
      target.connectors.map((connector) => [connector, pushed[connector]?.status ?? 'unconfirmed']),
    );
    inFlight = { ...inFlight, step: 'pushed', pushOutcomes: outcomes };
    record = applyPushOutcomes({ ...record, inFlight }, created.keyId, outcomes, clock.now(), rotationId);
    record = await this.#checkpoint(target, record, 'pushed');

    const failed: Record<string, ConnectorResult> = {};
    for (const [connector, result] of Object.entries(pushed)) {
      if (result.status === 'failed') {
        failed[connector] = {
          status: 'failed',
          errorCode: result.errorCode ?? ErrorCodes.qualysPartialFailure,
          message: result.message ?? 'Qualys reported the pair as failed',
        };
      }
    }
    if (Object.keys(failed).length === target.connectors.length) {
      // No connector took the key: it is of no use to anyone.
      await this.#compensate(target, app, record, created.keyId);
      const report = await this.#finish(target, app, record, run, created, failed, []);
      return report;
    }
    return this.#syncAndVerify(target, app, record, run, created, failed);
  }

  async #syncAndVerify(
    target: TargetConfig,
    app: SecondaryApp,
    startRecord: TargetRecord,
    run: RunContext,
    created: CreatedKey,
    failed: Record<string, ConnectorResult>,
  ): Promise<RotationReport> {
    const { clock, coordinator } = this.#o;
    let record = startRecord;
    const pushedTo = target.connectors.filter((connector) => failed[connector] === undefined);
    const listedNow = await this.#step(target, run.rotationId, 'verify', () =>
      coordinator.syncAndVerify({ appId: target.appId, connectors: pushedTo }),
    );
    const missing: Record<string, ConnectorResult> = {};
    for (const connector of pushedTo) {
      if (listedNow[connector] !== true) {
        missing[connector] = {
          status: 'unconfirmed',
          errorCode: ErrorCodes.qualysPartialFailure,
          message: 'Qualys does not list the app for this connector after the sync',
        };
      }
    }
    record = applyVerification(
      record,
      pushedTo.filter((connector) => listedNow[connector] === true),
      clock.now(),
    );
    record = await this.#checkpoint(
      target,
      { ...record, inFlight: record.inFlight ? { ...record.inFlight, step: 'verified' } : undefined },
      'verified',
    );
    return this.#finish(
      target,
      app,
      record,
      run,
      created,
      { ...failed, ...missing },
      pushedTo.filter((connector) => listedNow[connector] === true),
    );
  }

  async #finish(
    target: TargetConfig,
    app: SecondaryApp,
    startRecord: TargetRecord,
    run: RunContext,
    created: CreatedKey,
    problems: Record<string, ConnectorResult>,
    verified: readonly string[],
  ): Promise<RotationReport> {
    const { clock, policy, ledger } = this.#o;
    const now = clock.now();
    const nowIso = iso(now);
    const anyHolds = target.connectors.some(
      (connector) => startRecord.connectors[connector]?.keyId === created.keyId,
    );
    const allKnown = target.connectors.every(
      (connector) => (startRecord.connectors[connector]?.keyId ?? UNKNOWN_KEY) !== UNKNOWN_KEY,
    );
    const outcome =
      Object.keys(problems).length === 0 ? 'rotated' : verified.length > 0 || anyHolds ? 'partial' : 'failed';
    const record: TargetRecord = {
      ...startRecord,
      inFlight: undefined,
      currentKeyId: anyHolds ? created.keyId : startRecord.currentKeyId,
      currentKeyExpiresAt: anyHolds ? (created.endDateTime ?? undefined) : startRecord.currentKeyExpiresAt,
      allKnownSince: startRecord.allKnownSince ?? (allKnown ? nowIso : undefined),
      lastSuccessAt: outcome === 'rotated' ? nowIso : startRecord.lastSuccessAt,
      connectorsSeen: [...target.connectors],
      nextDueAt: iso(
        Math.min(
          now + policy.intervalMs,
          (Date.parse(created.endDateTime ?? '') || Infinity) - policy.rotateBeforeExpiryMs,
        ),
      ),
      lastResult: {
        rotationId: run.rotationId,
        at: nowIso,
        outcome,
        ...(outcome === 'rotated'
          ? {}
          : {
              errorCode: firstCode(problems),
              message: `${Object.keys(problems).length} of ${target.connectors.length} connectors not verified`,
              step: 'push',
            }),
      },
      rotateAgain: target.connectors.some(
        (connector) => (startRecord.connectors[connector]?.mayHold.length ?? 0) > 0,
      )
        ? true
        : undefined,
    };
    await ledger.write(record);
    const freshApp = await this.#o.directory.readApp(app);
    const retire = await this.#retire(target, freshApp, record, run.drift, run.rotationId);
    await ledger.appendHistory(target.appId, {
      rotationId: run.rotationId,
      at: nowIso,
      outcome,
      keyId: created.keyId,
      connectorsVerified: verified.length,
      connectorsFailed: Object.keys(problems).length,
      ...(outcome === 'rotated' ? {} : { errorCode: firstCode(problems) }),
    });
    const deadLetters: DeadLetter[] = Object.entries(problems).map(([connectorId, problem]) => ({
      appId: target.appId,
      tenantId: target.tenantId,
      connectorId,
      step: problem.status === 'failed' ? 'push' : 'verify',
      errorCode: problem.status === 'verified' ? '' : problem.errorCode,
      message: problem.status === 'verified' ? '' : problem.message,
      rotationId: run.rotationId,
      at: nowIso,
    }));
    this.#o.logger.info(
      {
        rotationId: run.rotationId,
        appId: target.appId,
        tenantId: target.tenantId,
        step: 'finish',
        outcome,
        keyId: created.keyId,
        verified: verified.length,
        failed: deadLetters.length,
      },
      'rotation finished',
    );
    const connectors: Record<string, ConnectorResult> = {
      ...Object.fromEntries(verified.map((connector) => [connector, { status: 'verified' } as const])),
      ...problems,
    };
    return {
      rotationId: run.rotationId,
      appId: target.appId,
      outcome,
      reasons: run.reasons,
      previousKeyId: run.previousKeyId,
      keyId: created.keyId,
      keyEndDateTime: created.endDateTime ?? undefined,
      connectors,
      recovered: run.recovered,
      ...retire,
      deadLetters,
      drift: run.drift,
      nextDueAt: record.nextDueAt,
    };
  }

  /**
   * Removes keys no connector holds any more once their grace period is over; records the rest for
   * later. Never fails the rotation: a failed removal is logged and tried again next time.
   */
  async retire(
    target: TargetConfig,
    listing?: readonly ConnectorMapping[],
  ): Promise<Pick<RotationReport, 'retired' | 'retireLater'>> {
    const { ledger } = this.#o;
    return this.#withLock(target.appId, async () => {
      const record = (await ledger.read(target.appId)) ?? emptyRecord(target.appId, target.tenantId);
      const app = await this.#o.directory.readApp({
        tenantId: target.tenantId,
        appId: target.appId,
        objectId: target.objectId,
      });
      const mapping = listing ?? (await this.#o.connectorApi.listSecondaryApplications());
      const drift = listedConnectors(mapping, target.appId).filter(
        (connector) => !target.connectors.includes(connector),
      );
      return this.#retire(target, app, record, drift, newRotationId(this.#o.clock.now()));
    });
  }

  async #retire(
    target: TargetConfig,
    app: SecondaryApp,
    record: TargetRecord,
    drift: readonly string[],
    rotationId: string,
  ): Promise<Pick<RotationReport, 'retired' | 'retireLater'>> {
    const { clock, policy, directory, ledger, logger } = this.#o;
    const now = clock.now();
    if (record.inFlight !== undefined) return { retired: [], retireLater: [] };
    const decision = planRetirement({
      app,
      record,
      policy,
      now,
      connectors: target.connectors,
      driftConnectors: drift,
    });
    const retired: string[] = [];
    for (const keyId of decision.removeNow) {
      try {
        await directory.removePassword(app, keyId);
        retired.push(keyId);
        logger.info(
          { rotationId, appId: target.appId, tenantId: target.tenantId, step: 'retire', keyId },
          'old key retired',
        );
      } catch (error) {
        logger.warn(
          { rotationId, appId: target.appId, step: 'retire', keyId, err: error },
          'could not retire an old key; will try again',
        );
      }
    }
    const releasedKeys = Object.fromEntries(
      Object.entries(record.releasedKeys).filter(([keyId]) => !retired.includes(keyId)),
    );
    for (const keyId of decision.markReleased) releasedKeys[keyId] ??= iso(now);
    const pendingRetirements = decision.later.map((entry) => ({
      keyId: entry.keyId,
      notBefore: iso(entry.notBefore),
    }));
    await ledger.write({ ...record, releasedKeys, pendingRetirements });
    if (retired.length > 0) {
      await ledger.appendHistory(target.appId, {
        rotationId,
        at: iso(now),
        outcome: 'retired',
        message: `removed ${retired.join(', ')}`,
      });
    }
    await this.#o.afterStep?.('retired', target.appId);
    return { retired, retireLater: pendingRetirements };
  }

  /** Finishes or undoes what an interrupted rotation left, from its last checkpoint. */
  async #recover(
    target: TargetConfig,
    app: SecondaryApp,
    startRecord: TargetRecord,
    inFlight: InFlightRotation,
  ): Promise<{ record: TargetRecord; recovered: RotationReport['recovered']; report?: RotationReport }> {
    const { clock, logger } = this.#o;
    const log = { rotationId: inFlight.rotationId, appId: target.appId, step: inFlight.step };
    let record = startRecord;
    switch (inFlight.step) {
      case 'intent':
      case 'created':
      case 'ready': {
        // The key reached no connector and its text died with the process: remove it, found by name.
        const removed = await this.#removeByName(app, inFlight.displayName);
        record = {
          ...record,
          inFlight: undefined,
          lastResult: {
            rotationId: inFlight.rotationId,
            at: iso(clock.now()),
            outcome: 'compensated',
            step: inFlight.step,
          },
        };
        await this.#o.ledger.write(record);
        await this.#o.ledger.appendHistory(target.appId, {
          rotationId: inFlight.rotationId,
          at: iso(clock.now()),
          outcome: 'compensated',
          message: `interrupted at ${inFlight.step}; removed ${removed.length} key(s)`,
        });
        logger.warn({ ...log, removedKeys: removed }, 'interrupted rotation compensated');
        return {
          record,
          recovered: { rotationId: inFlight.rotationId, step: inFlight.step, removedKeys: removed },
        };
      }
      case 'push-intent': {
        // The push may have reached any of its connectors: keep the key, and make sure a newer one follows.
        const keyId = inFlight.keyId ?? '';
        const outcomes = Object.fromEntries(
          (inFlight.pushTo ?? []).map((connector) => [connector, 'unconfirmed' as const]),
        );
        record = {
          ...applyPushOutcomes(record, keyId, outcomes, clock.now(), inFlight.rotationId),
          inFlight: undefined,
          rotateAgain: true,
        };
        await this.#o.ledger.write(record);
        await this.#o.ledger.appendHistory(target.appId, {
          rotationId: inFlight.rotationId,
          at: iso(clock.now()),
          outcome: 'compensated',
          message: 'interrupted during the push; a new key will supersede it',
        });
        logger.warn(log, 'interrupted push: its key is kept until a newer one is verified everywhere');
        return {
          record,
          recovered: { rotationId: inFlight.rotationId, step: inFlight.step, removedKeys: [] },
        };
      }
      case 'pushed':
      case 'synced':
      case 'verified': {
        // The push answered: sync and verify need no secret, so the rotation can be finished as it was.
        const keyId = inFlight.keyId ?? '';
        const outcomes = inFlight.pushOutcomes ?? {};
        record = applyPushOutcomes(record, keyId, outcomes, clock.now(), inFlight.rotationId);
        const failed: Record<string, ConnectorResult> = {};
        for (const [connector, status] of Object.entries(outcomes)) {
          if (status === 'failed')
            failed[connector] = {
              status: 'failed',
              errorCode: ErrorCodes.qualysPartialFailure,
              message: 'Qualys reported the pair as failed',
            };
        }
        logger.warn(log, 'resuming an interrupted rotation after its push');
        const run = {
          rotationId: inFlight.rotationId,
          reasons: ['resumed after an interruption'],
          drift: [],
          recovered: undefined,
          previousKeyId: undefined,
        };
        const created = { keyId, endDateTime: inFlight.keyEndDateTime ?? null };
        if (keyId !== '' && target.connectors.every((connector) => failed[connector] !== undefined)) {
          // No connector took the key: remove it, as the interrupted run was about to.
          const removed = await this.#compensate(target, app, record, keyId);
          const report = await this.#finish(target, app, record, run, created, failed, []);
          return {
            record,
            recovered: {
              rotationId: inFlight.rotationId,
              step: inFlight.step,
              removedKeys: removed ? [keyId] : [],
            },
            report,
          };
        }
        const report = await this.#syncAndVerify(target, app, record, run, created, failed);
        return {
          record,
          recovered: { rotationId: inFlight.rotationId, step: inFlight.step, removedKeys: [] },
          report,
        };
      }
    }
  }

  async #pushFailed(
    target: TargetConfig,
    app: SecondaryApp,
    record: TargetRecord,
    keyId: string,
    error: RotatorError,
    rotationId: string,
  ): Promise<never> {
    const inFlight = record.inFlight;
    if (error.kind === 'throttled' || error.kind === 'permanent') {
      // A blocked or refused call was not processed: no connector has the key.
      await this.#compensate(target, app, record, keyId);
    } else {
      // Ambiguous: any connector may hold the key now. Keep it, and rotate again to supersede it.
      const outcomes = Object.fromEntries(
        (inFlight?.pushTo ?? target.connectors).map((connector) => [connector, 'unconfirmed' as const]),
      );
      await this.#o.ledger.write({
        ...applyPushOutcomes(record, keyId, outcomes, this.#o.clock.now(), rotationId),
        inFlight: undefined,
        rotateAgain: true,
      });
    }
    throw await this.#failure(target, rotationId, 'push', error);
  }

  /** Removes a key no connector received, and forgets the in-flight rotation. True once removed. */
  async #compensate(
    target: TargetConfig,
    app: SecondaryApp,
    record: TargetRecord,
    keyId: string,
  ): Promise<boolean> {
    try {
      await this.#o.directory.removePassword(app, keyId);
    } catch (error) {
      // Left in the ledger as in flight: the next run finds the key by name and removes it.
      this.#o.logger.error(
        { appId: target.appId, keyId, err: error },
        'could not remove an unused new key; the next run will',
      );
      return false;
    }
    await this.#clearInFlight(target, record);
    return true;
  }

  async #clearInFlight(target: TargetConfig, record: TargetRecord): Promise<void> {
    await this.#o.ledger.write({ ...record, inFlight: undefined, appId: target.appId });
  }

  async #removeByName(app: SecondaryApp, displayName: string): Promise<string[]> {
    const current = await this.#o.directory.readApp(app);
    const keys = current.passwords
      .filter((password) => password.displayName === displayName)
      .map((password) => password.keyId);
    for (const keyId of keys) await this.#o.directory.removePassword(current, keyId);
    return keys;
  }

  async #checkpoint(target: TargetConfig, record: TargetRecord, point: HookPoint): Promise<TargetRecord> {
    if (this.#lostLocks.has(target.appId)) throw new RotationLockedError(target.appId);
    if (this.#o.shutdownSignal?.aborted === true) throw new ShuttingDownError(target.appId);
    await this.#o.ledger.write(record);
    const started = this.#lastCheckpointAt.get(target.appId);
    if (started !== undefined) {
      const now = performance.now();
      this.#o.onStepTimed?.(point, now - started);
      this.#lastCheckpointAt.set(target.appId, now);
    }
    await this.#o.afterStep?.(point, target.appId);
    return record;
  }

  /** Runs a step; on failure runs its compensation, records the result, and throws a RotationFailedError. */
  async #step<T>(
    target: TargetConfig,
    rotationId: string,
    step: FailureStep,
    work: () => Promise<T>,
    compensate?: () => Promise<unknown>,
  ): Promise<T> {
    try {
      return await work();
    } catch (error) {
      const cause =
        this.#o.shutdownSignal?.aborted === true
          ? new ShuttingDownError(target.appId)
          : asRotatorError(error);
      if (compensate) await compensate();
      throw await this.#failure(target, rotationId, step, cause);
    }
  }

  /** Records the failure as the target's last result and builds the error the queue acts on. */
  async #failure(
    target: TargetConfig,
    rotationId: string,
    step: FailureStep,
    cause: RotatorError,
  ): Promise<RotationFailedError> {
    const at = iso(this.#o.clock.now());
    const record = (await this.#o.ledger.read(target.appId)) ?? emptyRecord(target.appId, target.tenantId);
    // A stop is not a failure of the target: its status keeps the last real result.
    if (cause.code !== ErrorCodes.shuttingDown)
      await this.#o.ledger.write({
        ...record,
        lastResult: {
          rotationId,
          at,
          outcome: 'failed',
          errorCode: cause.code,
          message: cause.message,
          step,
        },
      });
    this.#o.logger.warn(
      { rotationId, appId: target.appId, tenantId: target.tenantId, step, err: cause },
      'rotation failed',
    );
    return new RotationFailedError(cause, {
      appId: target.appId,
      tenantId: target.tenantId,
      step,
      errorCode: cause.code,
      message: cause.message,
      rotationId,
      at,
    });
  }
}

export function listedConnectors(listing: readonly ConnectorMapping[], appId: string): string[] {
  const app = appId.toLowerCase();
  return listing.filter((mapping) => mapping.appIds.includes(app)).map((mapping) => mapping.connectorId);
}

function firstCode(problems: Record<string, ConnectorResult>): string | undefined {
  for (const problem of Object.values(problems)) if (problem.status !== 'verified') return problem.errorCode;
  return undefined;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
