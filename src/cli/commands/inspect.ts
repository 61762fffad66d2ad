// netlet inspect POD: one pod's full status.
import type { PodStatus } from '../../actors/types.js';
import { parse, SOCKET_HELP, socketOption, showHelp, type Command } from '../args.js';
import { chooseSocket, getJson } from '../client.js';
import { podDetails, styleFor } from '../format.js';

const usage = `usage: netlet inspect POD [--json] [--socket PATH]

Shows one pod: phase, its last attach or detach, and per interface its state, when it
was attached (hot-plugged ones), MAC, addresses, TAP and bridge (or PCI address), DHCP
lease and counters, and the last error.

  --json          print the status as JSON
${SOCKET_HELP}`;

export const inspect: Command = {
  name: 'inspect',
  summary: "one pod's status in full",
  usage,
  async run(argv, io) {
    const a = parse(argv, { ...socketOption, json: { type: 'boolean' } }, usage, { min: 1, max: 1 });
    if (a.help) return showHelp(io, usage);
    const pod = await getJson<PodStatus>(chooseSocket(a.values.socket, io.env), `/v1/pods/${encodeURIComponent(a.positionals[0]!)}`);
    io.out.write(a.values.json ? `${JSON.stringify(pod, null, 2)}\n` : podDetails(pod, styleFor(io.out, io.env)));
    return 0;
  },
};
