/** Process exit codes of the `rotator` executable (documented in the README). */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  /** EX_CONFIG from sysexits.h: the configuration is invalid. */
  config: 78,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
