// Command-line parsing for one subcommand: node's parseArgs, with parse errors turned
// into usage errors (exit 2) and --help handled the same way everywhere.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { usageError } from './exit.js';

export interface Io {
  out: NodeJS.WritableStream & { isTTY?: boolean };
  err: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

/** A subcommand: `usage` is its --help text. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[], io: Io): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  help: boolean;
}

/** Parses argv for a command; throws a usage error naming the problem. */
export function parse(argv: string[], options: Options, usage: string, positionals: { min: number; max: number }): Parsed {
  let r: ReturnType<typeof parseArgs>;
  try {
    r = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    throw usageError((e as Error).message, usage);
  }
  const values = r.values as Parsed['values'];
  const help = values.help === true;
  if (!help) {
    if (r.positionals.length < positionals.min) throw usageError('missing argument', usage);
    if (r.positionals.length > positionals.max) throw usageError(`unexpected argument '${r.positionals[positionals.max]}'`, usage);
  }
  return { values, positionals: r.positionals, help };
}

/** A --flag value restricted to `choices`. */
export function choice(value: string | boolean | undefined, choices: readonly string[], fallback: string, flag: string, usage: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !choices.includes(value)) throw usageError(`${flag} must be one of ${choices.join(', ')}`, usage);
  return value;
}

export const socketOption = { socket: { type: 'string' } } as const;
export const SOCKET_HELP = `  --socket PATH   the daemon's debug socket (else $NETLET_SOCKET, else /run/netlet/debug.sock)`;

export function showHelp(io: Io, usage: string): number {
  io.out.write(`${usage}\n`);
  return 0;
}
