/**
 * Reads what `npm audit --json` printed. Kept apart from tools/audit.ts so that its decisions are tested
 * without the registry: a finding at or above the level fails; an audit endpoint that cannot answer (this
 * CI's registry mirror refuses the bulk advisory POST with 405) is reported as skipped, never as clean.
 */

export type Severity = 'info' | 'low' | 'moderate' | 'high' | 'critical';
const ORDER: readonly Severity[] = ['info', 'low', 'moderate', 'high', 'critical'];

export type AuditOutcome =
  | { readonly kind: 'clean'; readonly counts: Readonly<Record<Severity, number>> }
  | {
      readonly kind: 'findings';
      readonly counts: Readonly<Record<Severity, number>>;
      /** `package (severity): title` for each advisory at or above the level. */
      readonly findings: readonly string[];
    }
  | { readonly kind: 'unavailable'; readonly reason: string };

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const severityOf = (value: unknown): Severity | undefined =>
  ORDER.includes(value as Severity) ? (value as Severity) : undefined;

/** Judges npm audit's JSON output against `level` (findings below it are counted, not failed). */
export function readAudit(stdout: string, level: Severity): AuditOutcome {
  let report: unknown;
  try {
    report = JSON.parse(stdout);
  } catch {
    return { kind: 'unavailable', reason: 'npm audit printed no JSON report' };
  }
  if (!isRecord(report)) return { kind: 'unavailable', reason: 'npm audit printed no JSON report' };
  const metadata = isRecord(report.metadata) ? report.metadata : undefined;
  const totals =
    metadata !== undefined && isRecord(metadata.vulnerabilities) ? metadata.vulnerabilities : undefined;
  if (totals === undefined) {
    // An error report: {"message": "405 Method Not Allowed - POST …", "statusCode": 405, …}.
    const message = typeof report.message === 'string' ? report.message : undefined;
    const status = typeof report.statusCode === 'number' ? ` (HTTP ${report.statusCode})` : '';
    const error =
      isRecord(report.error) && typeof report.error.summary === 'string' ? report.error.summary : '';
    return {
      kind: 'unavailable',
      reason: `the registry's audit endpoint did not answer${status}: ${message ?? (error || 'no message')}`,
    };
  }
  const counts = Object.fromEntries(
    ORDER.map((severity) => {
      const count = totals[severity];
      return [severity, typeof count === 'number' && Number.isFinite(count) ? count : 0];
    }),
  ) as Record<Severity, number>;
  const threshold = ORDER.indexOf(level);
  const findings: string[] = [];
  const vulnerabilities = isRecord(report.vulnerabilities) ? report.vulnerabilities : {};
  for (const [name, entry] of Object.entries(vulnerabilities)) {
    if (!isRecord(entry)) continue;
    const severity = severityOf(entry.severity);
    if (severity === undefined || ORDER.indexOf(severity) < threshold) continue;
    const titles = (Array.isArray(entry.via) ? entry.via : [])
      .flatMap((via: unknown) => (isRecord(via) && typeof via.title === 'string' ? [via.title] : []))
      .join('; ');
    findings.push(`${name} (${severity})${titles === '' ? ' through a dependency' : `: ${titles}`}`);
  }
  const failing = ORDER.slice(threshold).reduce((sum, severity) => sum + counts[severity], 0);
  if (failing > 0 || findings.length > 0) return { kind: 'findings', counts, findings };
  return { kind: 'clean', counts };
}
