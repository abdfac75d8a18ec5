import { describe, expect, it } from 'vitest';
import { isManagedKey } from '../../../src/rotation/key-names.ts';
import type { RotationReport } from '../../../src/rotation/report.ts';
import { RotationFailedError } from '../../../src/rotation/rotation-failed-error.ts';
import { expectConsistent, harness } from './harness.ts';

/**
 * A push that Qualys refused for every connector leaves a key nobody holds: an uninterrupted run
 * removes it at once. A run that crashed after recording that push (the `pushed` checkpoint) and before
 * the removal must end the same way when it is recovered, since nothing else would remove the key
 * while retirement waits for connectors whose key the rotator never pushed. (Found by the SIGKILL
 * chaos test, test/chaos/worker-kill.test.ts.)
 */
describe('recovery of a rotation whose push every connector refused', () => {
  it.each([false, true])(
    'removes the key nobody took (crash after the pushed checkpoint: %s)',
    async (crash) => {
      const h = harness();
      const target = h.target({ connectors: 2 });
      for (const connector of target.connectors)
        h.qualys.failPair(connector, target.appId, 'CREDENTIAL_VALIDATION_FAILED');
      class Crash extends Error {}
      let armed = crash;
      const first = h.engine({
        policy: { gracePeriodMs: 0 },
        afterStep: (point) => {
          if (armed && point === 'pushed') {
            armed = false;
            throw new Crash(point);
          }
        },
      });
      const outcome = await first.rotate(target).catch((error: unknown) => {
        if (error instanceof Crash || (error instanceof RotationFailedError && error.cause instanceof Crash))
          return 'crashed';
        throw error;
      });
      let report: RotationReport | undefined = typeof outcome === 'string' ? undefined : outcome;
      if (outcome === 'crashed') {
        expect((await h.ledger.read(target.appId))?.inFlight?.step).toBe('pushed');
        // A real crash does not release the lock: it expires.
        h.clock.advance(2 * 60_000);
        report = await h.engine({ policy: { gracePeriodMs: 0 } }).rotate(target);
        expect(report.recovered).toMatchObject({ step: 'pushed' });
      }
      expect(report?.outcome).toBe('failed');
      expect(report?.deadLetters.map((letter) => letter.connectorId).sort()).toEqual(
        [...target.connectors].sort(),
      );
      expect(
        h.directory.passwords(target.appId).filter((password) => isManagedKey(password.displayName)),
      ).toEqual([]);
      expect(await expectConsistent(h, target)).toEqual([]);
      expect(h.directory.calls.addPassword).toBe(1);
    },
  );
});
