// The CLI's exit codes (documented in docs/operators.md and `netlet --help`).
export const EXIT = {
  OK: 0,
  /** Anything else went wrong (the message says what). */
  ERROR: 1,
  /** Bad command line. */
  USAGE: 2,
  /** The daemon's socket cannot be reached. */
  UNREACHABLE: 3,
  /** The pod (or machine) named does not exist. */
  NOT_FOUND: 4,
} as const;

export class CliError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
  }
}

export const usageError = (message: string, usage: string): CliError => new CliError(`${message}\n\n${usage}`, EXIT.USAGE);
