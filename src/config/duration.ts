const UNIT_MS = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
} as const;

type Unit = keyof typeof UNIT_MS;

const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy;

/** Ten years: longer than any secret lifetime Entra allows, short enough for every date computation. */
export const MAX_DURATION_MS = 3_650 * UNIT_MS.d;

/**
 * Parses a human duration such as `90d`, `12h`, `1h30m` or `500ms` into milliseconds. Units go from
 * largest to smallest, each at most once. Returns `undefined` for anything else (or beyond
 * `MAX_DURATION_MS`), so the caller can report the field by name.
 */
export function parseDurationMs(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  PART.lastIndex = 0;
  let total = 0;
  let consumed = 0;
  let previousSize = Infinity;
  for (let match = PART.exec(trimmed); match !== null; match = PART.exec(trimmed)) {
    const size = UNIT_MS[match[2] as Unit];
    if (size >= previousSize) return undefined;
    previousSize = size;
    total += Number(match[1]) * size;
    consumed = PART.lastIndex;
  }
  if (consumed !== trimmed.length || total > MAX_DURATION_MS) return undefined;
  return Math.round(total);
}

/** Formats milliseconds back into the largest exact units (`86400000` → `1d`). */
export function formatDurationMs(value: number): string {
  const ms = Math.round(Math.abs(value));
  if (ms === 0) return '0s';
  const units: Unit[] = ['d', 'h', 'm', 's', 'ms'];
  let rest = ms;
  let out = '';
  for (const unit of units) {
    const size = UNIT_MS[unit];
    const count = Math.floor(rest / size);
    if (count > 0) {
      out += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return value < 0 ? `-${out}` : out;
}
