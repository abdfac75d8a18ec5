import type { ConfigProblem } from './config-error.ts';

export const ENV_PREFIX = 'ROTATOR_';
/** Names the file itself, not a key; `ROTATOR_TEST_*` are the crash tests' hooks, `ROTATOR_DEMO_*` the demo's. */
const RESERVED = /^ROTATOR_(CONFIG$|TEST_|DEMO_)/;
/** What Kubernetes injects for a Service named `rotator` (service links): not ours, never an error. */
const SERVICE_LINK = /^ROTATOR_(SERVICE_|PORT$|PORT_)/;

/**
 * How far past the end of a list an override may index. Overrides add an item or two; a larger gap
 * is a typo, and `ROTATOR_TARGETS__99999999__APP_ID` would otherwise build a list of a hundred
 * million holes, each then reported by the schema (the process ran out of memory).
 */
const MAX_LIST_GROWTH = 1_000;

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
    path
      .map((segment) =>
        String(segment)
          .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
          .toUpperCase(),
      )
      .join('__')
  );
}

/**
 * Applies every `ROTATOR_<SECTION>__<KEY>` variable on top of the parsed file, in place. Values stay
 * text: the schema reads numbers and booleans from text, so `12345` stays a password and
 * `contoso scan #1` stays a name.
 */
export function applyEnvOverrides(
  document: Record<string, unknown>,
  env: Readonly<Record<string, string | undefined>>,
): { overrides: EnvOverride[]; problems: ConfigProblem[] } {
  const overrides: EnvOverride[] = [];
  const problems: ConfigProblem[] = [];
  const names = Object.keys(env)
    .filter((name) => name.startsWith(ENV_PREFIX) && !RESERVED.test(name) && !SERVICE_LINK.test(name))
    .sort();
  for (const envName of names) {
    const raw = env[envName];
    if (raw === undefined) continue;
    if (!envName.includes('__')) {
      // Every key lives in a section, so an override always has a "__": this is a typo.
      problems.push({
        path: envName,
        message: `is not an override: levels are separated by "__", as in ROTATOR_QUALYS__GATEWAY_URL`,
      });
      continue;
    }
    const path = envNameToPath(envName);
    if (path.some((segment) => segment === '')) {
      problems.push({ path: envName, message: 'malformed variable name: segments are separated by "__"' });
      continue;
    }
    let node: unknown = document;
    let problem: string | undefined;
    for (let index = 0; index < path.length; index += 1) {
      const segment = path[index] as string | number;
      problem = segmentProblem(node, segment);
      if (problem !== undefined || index === path.length - 1) break;
      const container = node as Record<string | number, unknown>;
      if (container[segment] === undefined)
        container[segment] = typeof path[index + 1] === 'number' ? [] : {};
      node = container[segment];
      if (node === null || typeof node !== 'object') {
        problem = 'cannot override inside a value that is not an object or a list in the file';
        break;
      }
    }
    if (problem !== undefined) {
      problems.push({ path: envName, message: problem });
      continue;
    }
    const last = path[path.length - 1] as string | number;
    (node as Record<string | number, unknown>)[last] = raw;
    overrides.push({ envName, path });
  }
  return { overrides, problems };
}

/**
 * Why `segment` cannot index `container`, if it cannot. A list takes numbers only: a name would reach
 * its `length` (`ROTATOR_TARGETS__LENGTH=x` threw a RangeError) or a property the schema never reads.
 */
function segmentProblem(container: unknown, segment: string | number): string | undefined {
  if (!Array.isArray(container)) return undefined;
  if (typeof segment !== 'number') return 'indexes a list with a name: list items are numbered from 0';
  if (segment > container.length + MAX_LIST_GROWTH) {
    return `the index is more than ${MAX_LIST_GROWTH} past the end of the list (${container.length} items)`;
  }
  return undefined;
}
