import { ErrorCodes } from '../errors/codes.ts';
import { RotatorError } from '../errors/rotator-error.ts';

/** One thing wrong with the configuration: where (a dotted path) and what is expected. */
export interface ConfigProblem {
  readonly path: string;
  readonly message: string;
}

/**
 * Every problem found in one load, reported together so an operator fixes them in one pass. The
 * message never contains a configured value, so a misplaced secret cannot reach a log.
 */
export class ConfigError extends RotatorError {
  readonly code = ErrorCodes.configInvalid;
  readonly kind = 'permanent';
  readonly problems: readonly ConfigProblem[];

  constructor(source: string, problems: readonly ConfigProblem[]) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    const lines = problems.map((problem) => `  - ${problem.path}: ${problem.message}`);
    super(`configuration ${source} is invalid (${count}):\n${lines.join('\n')}`);
    this.problems = problems;
  }
}

/** `['targets', 2, 'appId']` → `targets[2].appId` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out === '' ? '(root)' : out;
}
