import type { z } from 'zod';
import { formatPath, type ConfigProblem } from './config-error.ts';

type Issue = z.core.$ZodIssue;

/**
 * Turns a schema issue into an operator's sentence. Built from the issue's kind and the schema's own
 * text, never from the input, so a secret typed into the wrong field is not echoed back.
 */
export function describeIssue(issue: Issue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? `is required (${issue.message})` : issue.message;
    case 'invalid_value':
      return `expected one of ${issue.values.map((value) => String(value)).join(', ')}`;
    case 'too_small':
      if (issue.origin === 'array')
        return issue.message.startsWith('Too small')
          ? `needs at least ${String(issue.minimum)} item(s)`
          : issue.message;
      if (issue.origin === 'string') return 'must not be empty';
      return `must be at least ${String(issue.minimum)}`;
    case 'too_big':
      return `must be at most ${String(issue.maximum)}`;
    case 'invalid_union':
      return issue.message;
    default:
      return issue.message;
  }
}

/** One problem per issue, and one per unknown key so that each names its own path. */
export function issueToProblems(issue: Issue): ConfigProblem[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({
      path: formatPath([...issue.path, key]),
      message: 'unknown key: check its spelling and level against examples/rotator.yaml',
    }));
  }
  return [{ path: formatPath(issue.path), message: describeIssue(issue) }];
}
