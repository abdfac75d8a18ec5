import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  EntraReadinessTimeoutError,
  GraphLifetimePolicyError,
  GraphTooManyPasswordsError,
} from '../../../src/azure/errors/index.ts';
import { QualysRateLimitedError, QualysTimeoutError } from '../../../src/qualys/errors/index.ts';
import { RotationFailedError } from '../../../src/rotation/rotation-failed-error.ts';
import { RotationLockedError } from '../../../src/rotation/rotation-locked-error.ts';
import { expectNoSecrets } from '../../support/leak-scan.ts';
import { DAY, expectConsistent, harness, HOUR } from './harness.ts';

const managed = (h: ReturnType<typeof harness>, appId: string) =>
  h.directory.passwords(appId).filter((password) => password.displayName?.startsWith('rotator r-'));

describe('due-ness and adoption', () => {
  it('adopts existing keys on the first start and leaves a fresh app alone', async () => {
    const h = harness();
    const target = h.target({ ageMs: 2 * DAY });
    const report = await h.engine().rotate(target);
    expect(report.outcome).toBe('skipped');
    expect(h.directory.calls.addPassword).toBe(0);
    expect(report.nextDueAt).toBe(new Date(h.clock.now() - 2 * DAY + 30 * DAY).toISOString());
    expect(h.qualys.calls.update).toBe(0);
  });

  it('rotates a key older than the interval, pushing to every connector in one call', async () => {
    const h = harness();
    const target = h.target({ ageMs: 31 * DAY, connectors: 3 });
    const before = h.directory.keyIds(target.appId);
    const report = await h.engine().rotate(target);
    expect(report.outcome).toBe('rotated');
    expect(report.reasons).toContain('the key is older than the rotation interval');
    expect(report.keyId).toBeDefined();
    expect(Object.values(report.connectors)).toEqual([
      { status: 'verified' },
      { status: 'verified' },
      { status: 'verified' },
    ]);
    for (const connector of target.connectors) {
      expect(h.directory.accepts(target.appId, h.qualys.secretOf(connector, target.appId)!)).toBe(true);
    }
    expect(h.qualys.calls).toMatchObject({ update: 1, register: 0, sync: 1 });
    // The unmanaged key stays: retireUnmanagedKeys is off.
    expect(h.directory.keyIds(target.appId)).toEqual([...before, report.keyId]);
    const record = await h.ledger.read(target.appId);
    expect(record?.currentKeyId).toBe(report.keyId);
    expect(record?.inFlight).toBeUndefined();
    expect(await expectConsistent(h, target)).toEqual([]);
  });

  it('rotates a key that expires within rotateBeforeExpiry, and when forced', async () => {
    const h = harness();
    const expiring = h.target({ ageMs: 1 * DAY, lifetimeMs: 10 * DAY });
    expect((await h.engine().rotate(expiring)).reasons).toContain(
      'the key expires within rotateBeforeExpiry',
    );
    const fresh = h.target({ ageMs: 1 * DAY });
    expect(await h.engine().rotate(fresh, { forced: true })).toMatchObject({
      outcome: 'rotated',
      reasons: ['forced'],
    });
  });

  it('sets a lifetime from the policy on the new key', async () => {
    const h = harness();
    const target = h.target();
    const report = await h.engine().rotate(target);
    expect(report.keyEndDateTime).toBe(new Date(h.clock.now() + 90 * DAY).toISOString());
  });
});

describe('onboarding and drift', () => {
  it('registers a configured connector that Qualys does not list yet, in the same rotation', async () => {
    const h = harness();
    const target = h.target({ ageMs: 1 * DAY, registered: false, connectors: 2 });
    const report = await h.engine().rotate(target);
    expect(report.outcome).toBe('rotated');
    expect(report.reasons.some((reason) => reason.startsWith('connectors to register'))).toBe(true);
    expect(h.qualys.calls).toMatchObject({ register: 1, update: 0 });
    for (const connector of target.connectors)
      expect(h.qualys.secretOf(connector, target.appId)).toBeDefined();
  });

  it('reports a connector Qualys lists but the configuration does not, and retires nothing then', async () => {
    const h = harness();
    const target = h.target({ ageMs: 31 * DAY });
    const stranger = randomUUID();
    h.qualys.seed(stranger, target.appId, 'whatever');
    const report = await h.engine({ policy: { retireUnmanagedKeys: true, gracePeriodMs: 0 } }).rotate(target);
    expect(report.drift).toEqual([stranger]);
    expect(report.retired).toEqual([]);
    expect(report.retireLater).toEqual([]);
  });
});

describe('retirement', () => {
  it('retires the previous managed key after the grace period, honouring keepPrevious', async () => {
    const h = harness();
    const target = h.target();
    const engine = h.engine();
    const first = await engine.rotate(target);
    h.clock.advance(31 * DAY);
    const second = await engine.rotate(target);
    expect(second.retireLater).toEqual([
      { keyId: first.keyId, notBefore: new Date(h.clock.now() + 24 * HOUR).toISOString() },
    ]);
    expect(h.directory.keyIds(target.appId)).toContain(first.keyId);
    h.clock.advance(25 * HOUR);
    expect((await engine.retire(target)).retired).toEqual([first.keyId]);
    expect(h.directory.keyIds(target.appId)).not.toContain(first.keyId);

    const keeping = harness();
    const kept = keeping.target();
    const keepEngine = keeping.engine({ policy: { keepPrevious: 1 } });
    const k1 = await keepEngine.rotate(kept);
    keeping.clock.advance(31 * DAY);
    await keepEngine.rotate(kept);
    keeping.clock.advance(25 * HOUR);
    expect((await keepEngine.retire(kept)).retired).toEqual([]);
    expect(keeping.directory.keyIds(kept.appId)).toContain(k1.keyId);
  });

  it('retires unmanaged keys only when the policy allows, after the grace period', async () => {
    const h = harness();
    const target = h.target();
    const [unmanaged] = h.directory.keyIds(target.appId);
    const report = await h.engine({ policy: { retireUnmanagedKeys: true } }).rotate(target);
    expect(report.retireLater.map((entry) => entry.keyId)).toEqual([unmanaged]);
    h.clock.advance(25 * HOUR);
    expect((await h.engine({ policy: { retireUnmanagedKeys: true } }).retire(target)).retired).toEqual([
      unmanaged,
    ]);
  });

  it('never retires the key of a connector that failed (it keeps the old key)', async () => {
    const h = harness();
    const target = h.target({ connectors: 2 });
    const engine = h.engine({ policy: { retireUnmanagedKeys: true, gracePeriodMs: 0 } });
    const first = await engine.rotate(target);
    h.qualys.failPair(target.connectors[1]!, target.appId, 'CREDENTIAL_VALIDATION_FAILED');
    h.clock.advance(31 * DAY);
    const second = await engine.rotate(target);
    expect(second.outcome).toBe('partial');
    expect(second.connectors[target.connectors[1]!]).toMatchObject({
      status: 'failed',
      errorCode: 'CREDENTIAL_VALIDATION_FAILED',
    });
    expect(second.deadLetters).toEqual([
      expect.objectContaining({
        appId: target.appId,
        connectorId: target.connectors[1],
        step: 'push',
        errorCode: 'CREDENTIAL_VALIDATION_FAILED',
        rotationId: second.rotationId,
      }),
    ]);
    expect(h.directory.keyIds(target.appId)).toContain(first.keyId);
    expect(h.directory.accepts(target.appId, h.qualys.secretOf(target.connectors[1]!, target.appId)!)).toBe(
      true,
    );
    expect(await expectConsistent(h, target)).toEqual([]);
  });
});

describe('failure branches', () => {
  it('compensates the key when no connector takes it', async () => {
    const h = harness();
    const target = h.target({ connectors: 1 });
    h.qualys.failPair(target.connectors[0]!, target.appId, 'CREDENTIAL_VALIDATION_FAILED');
    const report = await h.engine().rotate(target);
    expect(report.outcome).toBe('failed');
    expect(managed(h, target.appId)).toEqual([]);
    expect(report.deadLetters).toHaveLength(1);
  });

  it.each([
    ['a full app', new GraphTooManyPasswordsError('full'), 'permanent'],
    ['a lifetime policy', new GraphLifetimePolicyError('policy'), 'permanent'],
  ])('fails at create on %s, leaving nothing behind', async (_label, error, kind) => {
    const h = harness();
    const target = h.target();
    h.directory.failNext('addPassword', error);
    const failure = await h
      .engine()
      .rotate(target)
      .catch((caught: unknown) => caught);
    expect(failure).toBeInstanceOf(RotationFailedError);
    expect(failure).toMatchObject({
      kind,
      code: error.code,
      deadLetter: { step: 'create', appId: target.appId },
    });
    const record = await h.ledger.read(target.appId);
    expect(record?.inFlight).toBeUndefined();
    expect(record?.lastResult).toMatchObject({ outcome: 'failed', errorCode: error.code, step: 'create' });
    expect(managed(h, target.appId)).toEqual([]);
  });

  it('removes the new key when Entra never accepts it, and fails transiently', async () => {
    const h = harness();
    const target = h.target();
    h.directory.failNext('waitUntilAccepted', new EntraReadinessTimeoutError(target.appId, 1_000, 5));
    const failure = await h
      .engine()
      .rotate(target)
      .catch((caught: unknown) => caught);
    expect(failure).toMatchObject({
      kind: 'transient',
      code: 'ROT_ERR_ENTRA_READINESS_TIMEOUT',
      deadLetter: { step: 'ready' },
    });
    expect(managed(h, target.appId)).toEqual([]);
    expect((await h.ledger.read(target.appId))?.inFlight).toBeUndefined();
  });

  it('removes the new key when Qualys throttles the push, and surfaces the wait', async () => {
    const h = harness();
    const target = h.target();
    h.qualys.failNext('update', new QualysRateLimitedError('update', 429, 600_000));
    const failure = await h
      .engine()
      .rotate(target)
      .catch((caught: unknown) => caught);
    expect(failure).toMatchObject({ kind: 'throttled', retryAfterMs: 600_000, deadLetter: { step: 'push' } });
    expect(managed(h, target.appId)).toEqual([]);
  });

  it('keeps a key whose push outcome is unknown, and supersedes it on the next run', async () => {
    const h = harness();
    const target = h.target();
    const engine = h.engine({ policy: { gracePeriodMs: 0 } });
    h.qualys.failNext('update', new QualysTimeoutError('update', 'headers'));
    const failure = await engine.rotate(target).catch((caught: unknown) => caught);
    expect(failure).toMatchObject({ kind: 'transient', code: 'ROT_ERR_QUALYS_TIMEOUT' });
    const [ambiguous] = managed(h, target.appId);
    expect(ambiguous).toBeDefined();
    const record = await h.ledger.read(target.appId);
    expect(record?.rotateAgain).toBe(true);
    expect(Object.values(record!.connectors).every((state) => state.mayHold.includes(ambiguous!.keyId))).toBe(
      true,
    );

    const again = await engine.rotate(target);
    expect(again.reasons).toContain('a previous push could not be confirmed');
    expect(again.outcome).toBe('rotated');
    expect(again.retired).toContain(ambiguous!.keyId);
    expect(await expectConsistent(h, target)).toEqual([]);
  });

  it('resumes after a failed sync without creating another key', async () => {
    const h = harness();
    const target = h.target();
    const engine = h.engine();
    h.qualys.failNext('sync', new QualysTimeoutError('sync', 'headers'));
    await expect(engine.rotate(target)).rejects.toMatchObject({ deadLetter: { step: 'verify' } });
    expect((await h.ledger.read(target.appId))?.inFlight?.step).toBe('pushed');
    const resumed = await engine.rotate(target);
    expect(resumed.outcome).toBe('rotated');
    expect(resumed.recovered).toMatchObject({ step: 'pushed' });
    expect(h.directory.calls.addPassword).toBe(1);
    expect(await expectConsistent(h, target)).toEqual([]);
  });

  it('lets only one rotation of a target run at a time', async () => {
    const h = harness();
    const target = h.target();
    const results = await Promise.allSettled([h.engine().rotate(target), h.engine().rotate(target)]);
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((result) => result.status === 'rejected');
    expect(rejected?.reason).toBeInstanceOf(RotationLockedError);
  });
});

describe('the lock', () => {
  it('stops at the next checkpoint when the lock was lost to another process, leaving recovery to the next run', async () => {
    const h = harness();
    const target = h.target();
    const engine = h.engine({
      policy: { lockTtlMs: 30 },
      afterStep: async (point) => {
        if (point !== 'created') return;
        h.clock.advance(60_000);
        expect(await h.ledger.acquireLock(target.appId, 'another-replica', 60_000)).toBe(true);
        await new Promise((resolve) => setTimeout(resolve, 40));
      },
    });
    await expect(engine.rotate(target)).rejects.toBeInstanceOf(RotationLockedError);
    expect((await h.ledger.read(target.appId))?.inFlight?.step).toBe('created');
    await h.ledger.releaseLock(target.appId, 'another-replica');
    const next = await h.engine().rotate(target);
    expect(next.recovered?.removedKeys).toHaveLength(1);
    expect(await expectConsistent(h, target)).toEqual([]);
  });
});

describe('crash at every checkpoint, then a restart', () => {
  const points = [
    'intent',
    'add-returned',
    'created',
    'ready',
    'push-intent',
    'pushed',
    'verified',
    'retired',
  ] as const;
  it.each(points)('after %s: the restarted run ends consistent, with no orphan key', async (point) => {
    const h = harness();
    const target = h.target({ connectors: 2 });
    class Crash extends Error {}
    let armed = true;
    const crashing = h.engine({
      policy: { retireUnmanagedKeys: true, gracePeriodMs: 0 },
      afterStep: (reached) => {
        if (armed && reached === point) {
          armed = false;
          throw new Crash(point);
        }
      },
    });
    await crashing.rotate(target).catch((error: unknown) => {
      if (
        !(error instanceof Crash) &&
        !(error instanceof RotationFailedError && error.cause instanceof Crash)
      )
        throw error;
    });
    // A real crash does not release the lock: it expires.
    h.clock.advance(2 * 60_000);
    const restarted = h.engine({ policy: { retireUnmanagedKeys: true, gracePeriodMs: 0 } });
    await restarted.rotate(target);
    expect(await expectConsistent(h, target)).toEqual([]);
    for (const connector of target.connectors) {
      expect(h.directory.accepts(target.appId, h.qualys.secretOf(connector, target.appId)!)).toBe(true);
    }
  });
});

describe('batching', () => {
  it('shares one update, one sync and one verifying list between targets ready together', async () => {
    const h = harness();
    const targets = Array.from({ length: 6 }, () => h.target({ connectors: 2 }));
    const listing = await h.qualys.listSecondaryApplications();
    const listsBefore = h.qualys.calls.list;
    const engine = h.engine({ policy: { batchWindowMs: 50 } });
    const reports = await Promise.all(targets.map((target) => engine.rotate(target, { listing })));
    expect(reports.every((report) => report.outcome === 'rotated')).toBe(true);
    expect(h.qualys.calls.update).toBe(1);
    expect(h.qualys.batchSizes).toEqual([12]);
    expect(h.qualys.calls.sync).toBe(1);
    expect(h.qualys.calls.list - listsBefore).toBe(1);
  });

  it('does not let one failed pair fail another target of the same batch', async () => {
    const h = harness();
    const good = h.target({ connectors: 1 });
    const bad = h.target({ connectors: 1 });
    h.qualys.failPair(bad.connectors[0]!, bad.appId, 'CONNECTOR_NOT_FOUND');
    const engine = h.engine({ policy: { batchWindowMs: 50 } });
    const [a, b] = await Promise.all([engine.rotate(good), engine.rotate(bad)]);
    expect(a.outcome).toBe('rotated');
    expect(b.outcome).toBe('failed');
    expect(h.qualys.calls.update).toBe(1);
  });
});

describe('dry run', () => {
  it('shows the key, the connectors and the retirements without touching anything', async () => {
    const h = harness();
    const target = h.target({ connectors: 2 });
    const [unmanaged] = h.directory.keyIds(target.appId);
    const plan = await h.engine({ policy: { retireUnmanagedKeys: true } }).plan(target);
    expect(plan).toMatchObject({
      due: true,
      create: { endDateTime: new Date(h.clock.now() + 90 * DAY).toISOString() },
      update: target.connectors,
      register: [],
      retireNow: [],
      retireLater: [{ keyId: unmanaged, notBefore: new Date(h.clock.now() + 24 * HOUR).toISOString() }],
    });
    expect(h.directory.calls.addPassword + h.qualys.calls.update + h.qualys.calls.register).toBe(0);
    expect(await h.ledger.read(target.appId)).toBeUndefined();
  });
});

describe('secrets', () => {
  it('never reach the ledger, the history, the reports or the log', async () => {
    const h = harness();
    const target = h.target({ connectors: 2 });
    const engine = h.engine({ policy: { gracePeriodMs: 0 } });
    const reports = [await engine.rotate(target)];
    h.clock.advance(31 * DAY);
    reports.push(await engine.rotate(target));
    const stored = [
      JSON.stringify(await h.ledger.read(target.appId)),
      JSON.stringify(await h.ledger.history(target.appId)),
    ];
    expectNoSecrets(
      { ledger: stored, reports: reports.map((report) => JSON.stringify(report)), logs: h.lines },
      h.directory.issuedSecrets,
    );
  });
});
