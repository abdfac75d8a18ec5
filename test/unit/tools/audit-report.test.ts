import { describe, expect, it } from 'vitest';
import { readAudit } from '../../../tools/audit-report.ts';

const report = (vulnerabilities: Record<string, unknown>, counts: Record<string, number>) =>
  JSON.stringify({
    auditReportVersion: 2,
    vulnerabilities,
    metadata: { vulnerabilities: { info: 0, low: 0, moderate: 0, high: 0, critical: 0, ...counts } },
  });

describe('npm audit report', () => {
  it('is clean when nothing reaches the level, counting what is below it', () => {
    const stdout = report(
      { 'left-pad': { severity: 'moderate', via: [{ title: 'slow' }] } },
      { moderate: 1 },
    );
    expect(readAudit(stdout, 'high')).toEqual({
      kind: 'clean',
      counts: { info: 0, low: 0, moderate: 1, high: 0, critical: 0 },
    });
  });

  it('fails on a high or critical advisory and names the package and the advisory', () => {
    const stdout = report(
      {
        undici: { severity: 'high', via: [{ title: 'request smuggling' }] },
        bullmq: { severity: 'critical', via: ['undici'] },
        yaml: { severity: 'low', via: [{ title: 'noise' }] },
      },
      { high: 1, critical: 1, low: 1 },
    );
    const outcome = readAudit(stdout, 'high');
    expect(outcome.kind).toBe('findings');
    expect(outcome.kind === 'findings' && outcome.findings).toEqual([
      'undici (high): request smuggling',
      'bullmq (critical) through a dependency',
    ]);
  });

  it('fails on totals alone, should the per-package part be missing', () => {
    expect(readAudit(report({}, { critical: 2 }), 'high').kind).toBe('findings');
  });

  it('says the audit could not run when the endpoint refuses it, never that it is clean', () => {
    const refused = JSON.stringify({
      message: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk',
      statusCode: 405,
      error: { summary: '', detail: '' },
    });
    const outcome = readAudit(refused, 'high');
    expect(outcome).toEqual({
      kind: 'unavailable',
      reason: expect.stringContaining('(HTTP 405): 405 Method Not Allowed') as unknown,
    });
    expect(readAudit('', 'high').kind).toBe('unavailable');
    expect(readAudit('[]', 'high').kind).toBe('unavailable');
  });
});
