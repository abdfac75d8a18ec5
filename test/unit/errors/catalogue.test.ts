import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../../src/errors/codes.ts';

const root = join(import.meta.dirname, '../../..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

describe('the error catalogue', () => {
  const doc = readFileSync(join(root, 'docs/errors.md'), 'utf8');

  it.each(Object.values(ErrorCodes))('documents %s in docs/errors.md', (code) => {
    expect(doc).toMatch(new RegExp(`^\\| \`${code}\` \\|`, 'm'));
  });

  it('documents no code that does not exist', () => {
    const documented = [...doc.matchAll(/^\| `(ROT_ERR_[A-Z_]+)` \|/gm)].map((match) => match[1]);
    expect(documented.sort()).toEqual([...Object.values(ErrorCodes)].sort());
  });

  it('has every code used by some error class, and no code literal outside the catalogue', () => {
    const sources = sourceFiles(join(root, 'src')).filter((file) => !file.endsWith('errors/codes.ts'));
    const text = sources.map((file) => readFileSync(file, 'utf8')).join('\n');
    for (const key of Object.keys(ErrorCodes)) expect(text).toContain(`ErrorCodes.${key}`);
    expect(text).not.toMatch(/'ROT_ERR_/);
  });
});
