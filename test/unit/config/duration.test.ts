import { assert, integer, property } from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDurationMs, MAX_DURATION_MS, parseDurationMs } from '../../../src/config/duration.ts';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe('parseDurationMs', () => {
  it.each([
    ['90d', 90 * DAY],
    ['12h', 12 * HOUR],
    ['30m', 30 * MINUTE],
    ['45s', 45 * SECOND],
    ['500ms', 500],
    ['1w', 7 * DAY],
    ['1h30m', HOUR + 30 * MINUTE],
    ['1d2h3m4s5ms', DAY + 2 * HOUR + 3 * MINUTE + 4 * SECOND + 5],
    ['1.5h', 90 * MINUTE],
    ['0.5s', 500],
    ['0s', 0],
    ['  2h\t', 2 * HOUR],
    ['1.0005s', 1_001],
    ['2m500ms', 2 * MINUTE + 500],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it.each([
    '',
    '   ',
    '5',
    'd',
    'ms',
    '-1d',
    '+1d',
    '1D',
    '1H',
    '1y',
    '1mo',
    '1h 30m',
    '10 s',
    '.5s',
    '1.s',
    '1e3ms',
    '1h-30m',
    '1,5h',
    'ten seconds',
    'P1D',
    '1d extra',
  ])('rejects %j', (text) => {
    expect(parseDurationMs(text)).toBeUndefined();
  });

  it('is not fooled by state left by an earlier call (the regex is sticky and global)', () => {
    expect(parseDurationMs('1h30m')).toBe(5_400_000);
    expect(parseDurationMs('xx')).toBeUndefined();
    expect(parseDurationMs('45s')).toBe(45_000);
  });
});

describe('formatDurationMs', () => {
  it.each([
    [0, '0s'],
    [1, '1ms'],
    [999, '999ms'],
    [1_000, '1s'],
    [1_500, '1s500ms'],
    [90 * MINUTE, '1h30m'],
    [DAY, '1d'],
    [7 * DAY, '7d'],
    [90 * DAY, '90d'],
    [DAY + HOUR + MINUTE + SECOND + 1, '1d1h1m1s1ms'],
    [DAY + 5, '1d5ms'],
  ])('%d ms → %s', (ms, text) => {
    expect(formatDurationMs(ms)).toBe(text);
  });
});

describe('round trips', () => {
  it('parse(format(ms)) === ms for whole milliseconds', () => {
    assert(
      property(integer({ min: 0, max: MAX_DURATION_MS }), (ms) => {
        expect(parseDurationMs(formatDurationMs(ms))).toBe(ms);
      }),
      { numRuns: 500 },
    );
  });

  it.each(['0s', '1ms', '45s', '30m', '12h', '90d', '1d1h1m1s1ms', '3d500ms'])(
    'format(parse(%s)) gives the same canonical text',
    (text) => {
      expect(formatDurationMs(parseDurationMs(text)!)).toBe(text);
    },
  );

  it.each([
    ['1w', '7d'],
    ['36h', '1d12h'],
    ['90m', '1h30m'],
    ['1500ms', '1s500ms'],
    ['0.25d', '6h'],
  ])('format(parse(%s)) normalises to %s', (text, canonical) => {
    expect(formatDurationMs(parseDurationMs(text)!)).toBe(canonical);
  });
});
