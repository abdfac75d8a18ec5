import { randomUUID } from 'node:crypto';
import type { RotationPolicy, TargetConfig } from '../../../src/config/types.ts';
import { MemoryLedger } from '../../../src/ledger/memory-ledger.ts';
import { PushCoordinator } from '../../../src/rotation/push-coordinator.ts';
import { RotationEngine, type HookPoint } from '../../../src/rotation/rotation-engine.ts';
import { captureLogger } from '../../support/log-capture.ts';
import { FakeConnectorApi } from '../../fakes/fake-connector-api.ts';
import { FakeDirectory } from '../../fakes/fake-directory.ts';

export const DAY = 86_400_000;
export const HOUR = 3_600_000;

export const POLICY: RotationPolicy = {
  intervalMs: 30 * DAY,
  rotateBeforeExpiryMs: 14 * DAY,
  secretLifetimeMs: 90 * DAY,
  gracePeriodMs: 24 * HOUR,
  retireUnmanagedKeys: false,
  keepPrevious: 0,
  batchWindowMs: 5,
  batchMaxPairs: 200,
  verifyAttempts: 2,
  verifyDelayMs: 1,
  lockTtlMs: 60_000,
  schedule: '0 * * * *',
  timeZone: 'UTC',
};

/** A test clock the fakes, the ledger and the engine share. */
export class TestClock {
  ms = Date.parse('2026-12-01T00:00:00Z');
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

export interface Harness {
  readonly clock: TestClock;
  readonly directory: FakeDirectory;
  readonly qualys: FakeConnectorApi;
  readonly ledger: MemoryLedger;
  readonly lines: string[];
  engine(options?: {
    policy?: Partial<RotationPolicy>;
    afterStep?: (point: HookPoint, appId: string) => void | Promise<void>;
  }): RotationEngine;
  /** A target with an app and `connectors` registered in Qualys with an unmanaged key of `ageMs`. */
  target(options?: {
    connectors?: number;
    ageMs?: number;
    lifetimeMs?: number;
    registered?: boolean;
  }): TargetConfig;
}

export const TENANT = '11111111-1111-4111-8111-111111111111';

export function harness(): Harness {
  const clock = new TestClock();
  const directory = new FakeDirectory(clock);
  const qualys = new FakeConnectorApi();
  // Qualys validates what it is given: only secrets Entra accepts pass.
  qualys.validate = (appId, secret) => directory.accepts(appId, secret);
  const ledger = new MemoryLedger({ clock });
  const captured = captureLogger('debug');
  return {
    clock,
    directory,
    qualys,
    ledger,
    lines: captured.lines,
    engine(options = {}) {
      const policy = { ...POLICY, ...options.policy };
      return new RotationEngine({
        directory,
        connectorApi: qualys,
        coordinator: new PushCoordinator(qualys, {
          windowMs: policy.batchWindowMs,
          maxPairs: policy.batchMaxPairs,
          verifyAttempts: policy.verifyAttempts,
          verifyDelayMs: policy.verifyDelayMs,
        }),
        ledger,
        clock,
        policy,
        readinessTimeoutMs: 1_000,
        logger: captured.logger,
        owner: `test-${randomUUID()}`,
        lockTtlMs: policy.lockTtlMs,
        ...(options.afterStep ? { afterStep: options.afterStep } : {}),
      });
    },
    target(options = {}) {
      const app = directory.addApp(TENANT);
      const seeded = directory.seedPassword(app.appId, {
        ageMs: options.ageMs ?? 40 * DAY,
        lifetimeMs: options.lifetimeMs ?? 365 * DAY,
      });
      const connectors = Array.from({ length: options.connectors ?? 2 }, () => randomUUID());
      for (const connector of connectors) {
        if (options.registered === false) qualys.addConnector(connector);
        else qualys.seed(connector, app.appId, seeded.secret);
      }
      return { name: app.appId, appId: app.appId, objectId: app.objectId, tenantId: TENANT, connectors };
    },
  };
}

/**
 * The end state every rotation must reach (invariants 1-3): every connector that Qualys lists holds a
 * secret Entra accepts, and no managed key is left that nothing holds and nothing will retire.
 */
export async function expectConsistent(h: Harness, target: TargetConfig): Promise<string[]> {
  const problems: string[] = [];
  const record = await h.ledger.read(target.appId);
  if (record?.inFlight !== undefined) problems.push(`rotation ${record.inFlight.rotationId} still in flight`);
  for (const connector of target.connectors) {
    const secret = h.qualys.secretOf(connector, target.appId);
    if (secret !== undefined && !h.directory.accepts(target.appId, secret)) {
      problems.push(`connector ${connector} holds a dead secret`);
    }
  }
  const pending = new Set(record?.pendingRetirements.map((entry) => entry.keyId) ?? []);
  const held = new Set(
    Object.values(record?.connectors ?? {}).flatMap((state) => [state.keyId, ...state.mayHold]),
  );
  for (const password of h.directory.passwords(target.appId)) {
    if (
      password.displayName?.startsWith('rotator r-') &&
      !held.has(password.keyId) &&
      !pending.has(password.keyId) &&
      record?.currentKeyId !== password.keyId
    ) {
      problems.push(`managed key ${password.keyId} is orphaned`);
    }
  }
  return problems;
}
