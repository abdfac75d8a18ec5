import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Secret } from '../util/secret.ts';
import type { ConfigProblem } from './config-error.ts';
import { pathToEnvName } from './env-overrides.ts';

/**
 * Resolves a `name` / `nameFile` pair into a `Secret`. Files are mounted Kubernetes Secrets, which
 * end with a newline more often than not: a single trailing newline is dropped. A relative path is
 * read from the configuration file's folder, so the result does not depend on the working directory.
 */
export function resolveSecret(
  baseDir: string,
  owner: Readonly<Record<string, unknown>>,
  name: string,
  path: readonly (string | number)[],
  required: boolean,
  problems: ConfigProblem[],
): Secret | undefined {
  const inline = owner[name];
  const file = owner[`${name}File`];
  const dotted = [...path, name]
    .map((segment) => (typeof segment === 'number' ? `[${segment}]` : segment))
    .join('.')
    .replace(/\.\[/g, '[');
  if (inline !== undefined && file !== undefined) {
    problems.push({ path: dotted, message: `set exactly one of ${name} and ${name}File, not both` });
    return undefined;
  }
  if (typeof file === 'string') {
    try {
      const text = readConfiguredFile(resolve(baseDir, file))
        .toString('utf8')
        .replace(/\r?\n$/, '');
      if (text === '') {
        problems.push({ path: `${dotted}File`, message: 'the file is empty' });
        return undefined;
      }
      return new Secret(text);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
      problems.push({
        path: `${dotted}File`,
        message: `cannot read the file (${code}); mount the secret or fix the path`,
      });
      return undefined;
    }
  }
  if (typeof inline === 'string') return new Secret(inline);
  if (required) {
    problems.push({
      path: dotted,
      message: `is required: set ${name}File to a mounted secret file, or the environment variable ${pathToEnvName([...path, name])}`,
    });
  }
  return undefined;
}

/** Checks that a non-secret file the config names (a certificate, a CA) can be read now. */
export function checkReadable(
  baseDir: string,
  path: string,
  file: string | undefined,
  problems: ConfigProblem[],
): void {
  if (file === undefined) return;
  try {
    readConfiguredFile(resolve(baseDir, file));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    problems.push({ path, message: `cannot read the file (${code}); mount it or fix the path` });
  }
}

/** Secret files and certificates are a few KiB: anything past this is the wrong file. */
const MAX_CONFIGURED_FILE_BYTES = 1024 * 1024;

/**
 * Reads a file the configuration names, or throws an error whose `code` says why not (`ENOENT`, …).
 * Only a regular file of at most `maxBytes` is read: `/dev/zero` or a pipe would be read for ever
 * (the loader never returned), and a huge file is not a secret.
 */
export function readConfiguredFile(path: string, maxBytes = MAX_CONFIGURED_FILE_BYTES): Buffer {
  const stats = statSync(path);
  const refuse = (code: string) => Object.assign(new Error(code), { code });
  if (stats.isDirectory()) throw refuse('EISDIR');
  if (!stats.isFile()) throw refuse('not a regular file');
  if (stats.size > maxBytes) throw refuse(`larger than ${maxBytes} bytes`);
  return readFileSync(path);
}
