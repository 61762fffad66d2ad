// netlet attach POD IFNAME: hot-plug one more network into a ready pod (attachInterface).
import { readFileSync } from 'node:fs';
import type { WireInterface } from '../../debug/control.js';
import { parse, showHelp, type Command } from '../args.js';
import { CONTROL_HELP, callControl, chooseControlSocket, controlOption } from '../control.js';
import { CliError, EXIT, usageError } from '../exit.js';

const usage = `usage: netlet attach POD IFNAME (--network NAME | --result FILE) [--json] [--control PATH]

Attaches an interface to a ready pod: netlet runs CNI ADD of the network (or takes the
CNI result the caller's CNI produced), then its TAP, bridge and DHCP. The VM runtime then
hot-plugs the NIC (QMP device_add) with fresh TAP fds (the control socket's
POST /v1/pods/{id}/interfaces with X-Netlet-Fds).

  --network NAME  the CNI network to attach (netlet runs CNI ADD, and DEL on detach)
  --result FILE   a CNI result (JSON) describing IFNAME: netlet runs no CNI
  --json          print the attached interface as JSON
${CONTROL_HELP}`;

function readResult(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CliError(`netlet attach: cannot read the CNI result ${file}: ${(e as Error).message}`, EXIT.ERROR);
  }
}

export const attach: Command = {
  name: 'attach',
  summary: 'attach an interface to a ready pod',
  usage,
  async run(argv, io) {
    const a = parse(argv, { ...controlOption, network: { type: 'string' }, result: { type: 'string' }, json: { type: 'boolean' } }, usage, { min: 2, max: 2 });
    if (a.help) return showHelp(io, usage);
    const [pod, ifName] = a.positionals as [string, string];
    const { network, result } = a.values;
    if (typeof network !== 'string' && typeof result !== 'string') throw usageError('give --network NAME or --result FILE', usage);
    const body = { ifName, ...(typeof network === 'string' ? { network } : {}), ...(typeof result === 'string' ? { cniResult: readResult(result) } : {}) };
    const i = await callControl<WireInterface>(chooseControlSocket(a.values.control, io.env), 'POST', `/v1/pods/${encodeURIComponent(pod)}/interfaces`, body);
    if (a.values.json) {
      io.out.write(`${JSON.stringify(i, null, 2)}\n`);
      return EXIT.OK;
    }
    const device = i.kind === 'tap' ? `TAP ${i.tapName} on bridge ${i.bridgeName}, ${i.queues} queue(s)` : `VF ${i.pciAddress}`;
    io.out.write(`${i.name} attached to ${pod}: ${device}, mac ${i.mac}, ${i.ips.map((x) => x.address).join(', ') || 'no addresses'}\n`);
    return EXIT.OK;
  },
};
