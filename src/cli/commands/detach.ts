// netlet detach POD IFNAME: take a hot-plugged interface out of a pod (detachInterface).
import { parse, showHelp, type Command } from '../args.js';
import { CONTROL_HELP, callControl, chooseControlSocket, controlOption } from '../control.js';
import { EXIT } from '../exit.js';

const usage = `usage: netlet detach POD IFNAME [--control PATH]

Detaches an interface from a pod: its DHCP, TAP and bridge go, the pod netns is as
before the attach, and CNI DEL runs when netlet ran the ADD. Unplug the NIC from the VM
first (QMP device_del). Detaching an interface (or pod) that is not there succeeds.

${CONTROL_HELP}`;

export const detach: Command = {
  name: 'detach',
  summary: 'detach an interface from a pod',
  usage,
  async run(argv, io) {
    const a = parse(argv, controlOption, usage, { min: 2, max: 2 });
    if (a.help) return showHelp(io, usage);
    const [pod, ifName] = a.positionals as [string, string];
    await callControl(chooseControlSocket(a.values.control, io.env), 'DELETE', `/v1/pods/${encodeURIComponent(pod)}/interfaces/${encodeURIComponent(ifName)}`);
    io.out.write(`${ifName} detached from ${pod}\n`);
    return EXIT.OK;
  },
};
