import type { UpstreamCalls } from '../app/runtime.ts';
import type { DeadLetterItem } from '../queue/dead-letters.ts';
import type { WaitOutcome } from '../queue/operations.ts';
import type { DemoEstate, DemoTarget } from './estate.ts';

/** Key ids and UUIDs cut to 8 characters: enough to tell them apart on screen. */
export function shortId(id: string | undefined): string {
  return id === undefined ? '—' : id.slice(0, 8);
}

export interface DemoResults {
  readonly outcomes: readonly WaitOutcome[];
  readonly deadLetters: readonly DeadLetterItem[];
  readonly calls: UpstreamCalls;
  readonly elapsedMs: number;
}

export interface DemoVerdict {
  readonly ok: boolean;
  readonly problems: readonly string[];
}

/**
 * What the demo expects: every target rotated, except the one listing the connector Qualys does not
 * know, which rotates for its other connectors (partial) and leaves exactly that pair in the DLQ.
 */
export function judge(estate: DemoEstate, results: DemoResults): DemoVerdict {
  const problems: string[] = [];
  for (const target of estate.targets) {
    const outcome = results.outcomes.find((candidate) => candidate.appId === target.appId);
    const expected = target.connectors.includes(estate.failingConnector) ? 'partial' : 'rotated';
    if (outcome?.status !== expected)
      problems.push(`${target.name}: expected ${expected}, got ${outcome?.status ?? 'nothing'}`);
  }
  const expectedLetters = results.deadLetters.filter((item) =>
    item.connectors.includes(estate.failingConnector),
  );
  if (expectedLetters.length !== 1)
    problems.push(`the failing connector has ${expectedLetters.length} dead letters instead of 1`);
  const others = results.deadLetters.length - expectedLetters.length;
  if (others > 0) problems.push(`${others} unexpected dead letters`);
  return { ok: problems.length === 0, problems };
}

function targetLine(estate: DemoEstate, target: DemoTarget, outcome: WaitOutcome | undefined): string {
  const result = outcome?.result;
  const connectors = target.connectors.length;
  const oldKeyGone = !estate.entra.passwords(target.appId).some((key) => key.keyId === target.oldKeyId);
  const parts = [
    `  ${target.name.padEnd(16)}`,
    (outcome?.status ?? 'no outcome').padEnd(8),
    `key ${shortId(target.oldKeyId)} → ${shortId(result?.keyId)}`,
    `connectors verified ${result?.verified ?? 0}/${connectors}`,
    `keys retired ${result?.retired ?? 0}${oldKeyGone ? ' (old key removed)' : ''}`,
  ];
  if (outcome?.message !== undefined) parts.push(outcome.message);
  return parts.join('  ');
}

function counts(entries: Readonly<Record<string, number | undefined>>): string {
  const shown = Object.entries(entries).filter(([, count]) => count !== undefined && count > 0);
  return shown.length === 0 ? 'none' : shown.map(([name, count]) => `${name} ${count}`).join(', ');
}

/** The summary, line by line. Ids, outcomes and counts only: nothing in it is a secret. */
export function summaryLines(estate: DemoEstate, results: DemoResults, verdict: DemoVerdict): string[] {
  const lines: string[] = [];
  const tenantName = new Map(estate.tenants.map((tenant) => [tenant.id, tenant.name]));
  lines.push(
    `Rotations of ${estate.targets.length} targets in ${estate.tenants.length} tenants (${(results.elapsedMs / 1000).toFixed(1)} s):`,
  );
  for (const target of estate.targets) {
    const outcome = results.outcomes.find((candidate) => candidate.appId === target.appId);
    lines.push(targetLine(estate, target, outcome));
  }
  lines.push('');
  lines.push(
    `Onboarded connector ${shortId(estate.onboardedConnector)}; connector ${shortId(estate.failingConnector)} is unknown to Qualys on purpose.`,
  );
  lines.push(`Dead letters (${results.deadLetters.length}):`);
  for (const item of results.deadLetters) {
    const connectors = item.connectors.map(shortId).join(', ');
    lines.push(
      `  ${item.targetName} (tenant ${tenantName.get(item.tenantId) ?? shortId(item.tenantId)}) connector ${connectors}: ${item.errorCode} at ${item.step}: ${item.message}`,
    );
  }
  lines.push('');
  lines.push('Upstream calls made by the rotator:');
  lines.push(`  Qualys: ${counts(results.calls.qualys)}`);
  lines.push(`  Graph: ${results.calls.graph}; Entra secret probes: ${results.calls.entraProbes}`);
  lines.push('Calls the simulators received:');
  lines.push(`  Qualys: ${estate.qualys.callCount()} (${counts(simCounts(estate, 'qualys'))})`);
  lines.push(`  Entra/Graph: ${estate.entra.callCount()} (${counts(simCounts(estate, 'entra'))})`);
  lines.push('');
  if (verdict.ok) lines.push('Demo OK: every target rotated; the one expected failure is in the DLQ.');
  else lines.push('Demo FAILED:', ...verdict.problems.map((problem) => `  ${problem}`));
  return lines;
}

const QUALYS_ENDPOINTS = ['auth', 'register', 'update', 'list', 'delete', 'sync'] as const;
const ENTRA_ENDPOINTS = [
  'openid',
  'token',
  'getApp',
  'listApps',
  'addPassword',
  'removePassword',
  'batch',
] as const;

function simCounts(estate: DemoEstate, which: 'qualys' | 'entra'): Record<string, number> {
  if (which === 'qualys')
    return Object.fromEntries(
      QUALYS_ENDPOINTS.map((endpoint) => [endpoint, estate.qualys.callCount(endpoint)]),
    );
  return Object.fromEntries(ENTRA_ENDPOINTS.map((endpoint) => [endpoint, estate.entra.callCount(endpoint)]));
}
