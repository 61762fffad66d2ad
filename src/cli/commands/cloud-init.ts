// netlet cloud-init POD: the cloud-init network config netlet renders for the pod.
import { choice, parse, SOCKET_HELP, socketOption, showHelp, type Command } from '../args.js';
import { chooseSocket, get, replyError } from '../client.js';

const FORMATS = ['v1', 'v2', 'network-data'] as const;

const usage = `usage: netlet cloud-init POD [--format v1|v2|network-data] [--socket PATH]

Prints the cloud-init network configuration of the pod: Network Config v1 or v2
(YAML) or OpenStack network_data.json.

  --format v2            Network Config v2 (default)
  --format v1            Network Config v1
  --format network-data  network_data.json
${SOCKET_HELP}`;

export const cloudInit: Command = {
  name: 'cloud-init',
  summary: "a pod's cloud-init network config",
  usage,
  async run(argv, io) {
    const a = parse(argv, { ...socketOption, format: { type: 'string', short: 'f' } }, usage, { min: 1, max: 1 });
    if (a.help) return showHelp(io, usage);
    const format = choice(a.values.format, FORMATS, 'v2', '--format', usage);
    const r = await get(chooseSocket(a.values.socket, io.env), `/v1/pods/${encodeURIComponent(a.positionals[0]!)}/cloud-init?format=${format}`);
    if (r.status !== 200) throw replyError(r);
    io.out.write(r.body);
    return 0;
  },
};
