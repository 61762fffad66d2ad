#!/usr/bin/env node
// The `netlet` command: the daemon, client commands that read the daemon's debug
// socket, and attach/detach on its control socket. Exit codes: 0 ok, 1 error, 2 usage, 3 daemon not reachable, 4 not found.
import type { Command, Io } from './args.js';
import { CliError, EXIT } from './exit.js';
import { daemon } from './commands/daemon.js';
import { status } from './commands/status.js';
import { inspect } from './commands/inspect.js';
import { events } from './commands/events.js';
import { graph } from './commands/graph.js';
import { cloudInit } from './commands/cloud-init.js';
import { metrics } from './commands/metrics.js';
import { demo } from './commands/demo.js';
import { attach } from './commands/attach.js';
import { detach } from './commands/detach.js';

export const COMMANDS: Command[] = [daemon, status, inspect, events, graph, cloudInit, metrics, attach, detach, demo];

export const USAGE = `usage: netlet COMMAND [OPTIONS]

Networking for VM-based Kubernetes pods.

commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(11)}${c.summary}`).join('\n')}

\`netlet COMMAND --help\` describes a command. Client commands find the daemon's
debug socket with --socket PATH, else $NETLET_SOCKET, else /run/netlet/debug.sock;
attach and detach its control socket with --control PATH, else $NETLET_CONTROL_SOCKET,
else /run/netlet/control.sock.

exit codes: 0 ok, 1 error, 2 usage, 3 daemon not reachable, 4 not found`;

export async function main(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.err.write(`${USAGE}\n`);
    return EXIT.USAGE;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const sub = COMMANDS.find((c) => c.name === rest[0]);
    io.out.write(`${sub ? sub.usage : USAGE}\n`);
    return EXIT.OK;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    io.err.write(`netlet: unknown command '${name}'\n\n${USAGE}\n`);
    return EXIT.USAGE;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    if (e instanceof CliError) {
      io.err.write(`${e.message}\n`);
      return e.exitCode;
    }
    io.err.write(`netlet ${name}: ${(e as Error).stack ?? String(e)}\n`);
    return EXIT.ERROR;
  }
}

const io: Io = { out: process.stdout, err: process.stderr, env: process.env };
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  // `netlet metrics | head` closes the pipe early: that is not an error.
  if (e.code === 'EPIPE') process.exit(EXIT.OK);
});
main(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`netlet: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = EXIT.ERROR;
  },
);
