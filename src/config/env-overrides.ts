import { parse as parseYaml } from 'yaml';
import type { ConfigProblem } from './config-error.ts';

export const ENV_PREFIX = 'ROTATOR_';
/** Not an override: it names the file itself. */
const RESERVED = new Set(['ROTATOR_CONFIG']);
const SECRET_KEY = /password|secret|token/i;

export interface EnvOverride {
  readonly envName: string;
  readonly path: readonly (string | number)[];
}

/**
 * `ROTATOR_QUALYS__GATEWAY_URL` → `qualys.gatewayUrl`; `ROTATOR_AZURE__TENANTS__0__AUTH__CLIENT_SECRET`
 * → `azure.tenants[0].auth.clientSecret`. Segments are separated by `__`, each one the
 * SCREAMING_SNAKE_CASE of the key; a number indexes a list.
 */
export function envNameToPath(envName: string): (string | number)[] {
  return envName
    .slice(ENV_PREFIX.length)
    .split('__')
    .map((segment) =>
      /^\d+$/.test(segment)
        ? Number(segment)
        : segment.toLowerCase().replace(/_([a-z0-9])/g, (_match, char: string) => char.toUpperCase()),
    );
}

export function pathToEnvName(path: readonly (string | number)[]): string {
  return (
    ENV_PREFIX +
    path.map((segment) => String(segment).replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('__')
  );
}

/**
 * Values are read as YAML scalars (`true`, `3`) so booleans and numbers work, except for keys that
 * hold secrets, which are always taken as text: a password of `12345` must stay a string.
 */
function envValue(key: string | number, raw: string): unknown {
  if (typeof key === 'string' && SECRET_KEY.test(key)) return raw;
  try {
    const value: unknown = parseYaml(raw);
    return value === null || typeof value === 'object' ? raw : value;
  } catch {
    return raw;
  }
}

/** Applies every `ROTATOR_*` variable on top of the parsed file, in place, and reports what it did. */
export function applyEnvOverrides(
  document: Record<string, unknown>,
  env: Readonly<Record<string, string | undefined>>,
): { overrides: EnvOverride[]; problems: ConfigProblem[] } {
  const overrides: EnvOverride[] = [];
  const problems: ConfigProblem[] = [];
  const names = Object.keys(env)
    .filter((name) => name.startsWith(ENV_PREFIX) && !RESERVED.has(name))
    .sort();
  for (const envName of names) {
    const raw = env[envName];
    if (raw === undefined) continue;
    const path = envNameToPath(envName);
    if (path.some((segment) => segment === '')) {
      problems.push({ path: envName, message: 'malformed variable name: segments are separated by "__"' });
      continue;
    }
    let node: unknown = document;
    let ok = true;
    for (let index = 0; index < path.length - 1; index += 1) {
      const segment = path[index] as string | number;
      const container = node as Record<string | number, unknown>;
      if (container[segment] === undefined) container[segment] = typeof path[index + 1] === 'number' ? [] : {};
      node = container[segment];
      if (node === null || typeof node !== 'object') {
        problems.push({
          path: envName,
          message: 'cannot override inside a value that is not an object or a list in the file',
        });
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    const last = path[path.length - 1] as string | number;
    (node as Record<string | number, unknown>)[last] = envValue(last, raw);
    overrides.push({ envName, path });
  }
  return { overrides, problems };
}
