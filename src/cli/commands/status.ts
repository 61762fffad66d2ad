// netlet status: every pod and its interfaces, as a table.
import type { PodStatus } from '../../actors/types.js';
import { parse, SOCKET_HELP, socketOption, showHelp, type Command } from '../args.js';
import { chooseSocket, getJson } from '../client.js';
import { statusTable, styleFor } from '../format.js';

const usage = `usage: netlet status [--socket PATH] [--json]

Lists every pod the daemon holds, one row per interface: phase, interface state,
addresses, TAP@bridge or PCI address, and the DHCP lease.

  --json          print the statuses as JSON
${SOCKET_HELP}`;

export const status: Command = {
  name: 'status',
  summary: 'table of pods and interfaces with their states',
  usage,
  async run(argv, io) {
    const a = parse(argv, { ...socketOption, json: { type: 'boolean' } }, usage, { min: 0, max: 0 });
    if (a.help) return showHelp(io, usage);
    const { pods } = await getJson<{ pods: PodStatus[] }>(chooseSocket(a.values.socket, io.env), '/v1/pods');
    io.out.write(a.values.json ? `${JSON.stringify(pods, null, 2)}\n` : statusTable(pods, styleFor(io.out, io.env)));
    return 0;
  },
};
