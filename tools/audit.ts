/**
 * `npm run audit`: the production dependencies (`npm audit --omit=dev`) must have no high or critical
 * advisory. Exit 1 on a finding. When the registry's audit endpoint cannot answer (as on this project's
 * CI, whose registry refuses the advisory POST), it says the audit was skipped and why, and exits 0,
 * unless ROTATOR_AUDIT_REQUIRED=1 (set it where the endpoint works, so a broken one cannot pass).
 */
import { spawnSync } from 'node:child_process';
import { readAudit, type Severity } from './audit-report.ts';

const LEVEL: Severity = 'high';
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const run = spawnSync(npm, ['audit', '--omit=dev', '--json'], { encoding: 'utf8', timeout: 120_000 });
// When npm could not be started at all there is no output to read (run.error says why).
const outcome = readAudit(run.error === undefined ? run.stdout : '', LEVEL);
const required = process.env.ROTATOR_AUDIT_REQUIRED === '1';

switch (outcome.kind) {
  case 'clean':
    console.log(
      `audit: no ${LEVEL} or critical advisory in production dependencies (${JSON.stringify(outcome.counts)})`,
    );
    break;
  case 'findings':
    console.error(
      `audit: ${outcome.findings.length} advisory(ies) at ${LEVEL} or above in production dependencies:`,
    );
    for (const finding of outcome.findings) console.error(`  - ${finding}`);
    console.error('fix with `npm audit fix --omit=dev`, or pin a patched version through "overrides"');
    process.exitCode = 1;
    break;
  case 'unavailable':
    console.log(`audit: skipped: ${outcome.reason}`);
    if (required) {
      console.error('audit: ROTATOR_AUDIT_REQUIRED=1, so an audit that could not run fails');
      process.exitCode = 1;
    }
    break;
}
