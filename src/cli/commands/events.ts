// netlet events POD: the pod's recent state transitions.
import type { PodEventRecord } from '../../actors/types.js';
import { parse, SOCKET_HELP, socketOption, showHelp, type Command } from '../args.js';
import { chooseSocket, getJson } from '../client.js';
import { eventLines, styleFor } from '../format.js';

const usage = `usage: netlet events POD [--json] [--socket PATH]

Shows the pod's recent state transitions (the pod machine and each interface
machine), oldest first. The daemon keeps the last 200.

  --json          print the events as JSON
${SOCKET_HELP}`;

export const events: Command = {
  name: 'events',
  summary: "a pod's recent state transitions",
  usage,
  async run(argv, io) {
    const a = parse(argv, { ...socketOption, json: { type: 'boolean' } }, usage, { min: 1, max: 1 });
    if (a.help) return showHelp(io, usage);
    const r = await getJson<{ events: PodEventRecord[] }>(chooseSocket(a.values.socket, io.env), `/v1/pods/${encodeURIComponent(a.positionals[0]!)}/events`);
    io.out.write(a.values.json ? `${JSON.stringify(r.events, null, 2)}\n` : eventLines(r.events, styleFor(io.out, io.env)));
    return 0;
  },
};
