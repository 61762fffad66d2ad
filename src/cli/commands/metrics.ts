// netlet metrics: the daemon's Prometheus metrics, as its /metrics serves them.
import { parse, SOCKET_HELP, socketOption, showHelp, type Command } from '../args.js';
import { chooseSocket, get, replyError } from '../client.js';

const usage = `usage: netlet metrics [--socket PATH]

Prints the daemon's metrics in Prometheus text format (what GET /metrics on the
debug socket returns).

${SOCKET_HELP}`;

export const metrics: Command = {
  name: 'metrics',
  summary: 'Prometheus metrics of the daemon',
  usage,
  async run(argv, io) {
    const a = parse(argv, socketOption, usage, { min: 0, max: 0 });
    if (a.help) return showHelp(io, usage);
    const r = await get(chooseSocket(a.values.socket, io.env), '/metrics');
    if (r.status !== 200) throw replyError(r);
    io.out.write(r.body);
    return 0;
  },
};
