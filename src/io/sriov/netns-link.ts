// LinkNetnsPort over rtnetlink sockets opened inside each netns (src/io/rtnl.ts).
import { NetnsHandle } from '../netns.js';
import { Rtnl } from '../rtnl.js';
import type { LinkNetnsPort, NetnsRef } from './ports.js';

const openNetns = (ref: NetnsRef): NetnsHandle => (ref === 'host' ? NetnsHandle.current() : NetnsHandle.open(ref.path));
const sameNetns = (a: NetnsRef, b: NetnsRef): boolean => (a === 'host' || b === 'host' ? a === b : a.path === b.path);

async function withRtnl<T>(ref: NetnsRef, fn: (r: Rtnl) => Promise<T>): Promise<T> {
  const r = Rtnl.in(openNetns(ref), true);
  try {
    return await fn(r);
  } finally {
    r.close();
  }
}

export class RtnlLinkNetns implements LinkNetnsPort {
  async linkExists(name: string, netns: NetnsRef): Promise<boolean> {
    return withRtnl(netns, async (r) => (await r.link(name)) !== undefined);
  }

  async moveLink(req: { name: string; from: NetnsRef; to: NetnsRef; newName?: string }): Promise<void> {
    const { name, from, to, newName } = req;
    if (!sameNetns(from, to)) {
      const target = openNetns(to);
      try {
        await withRtnl(from, async (r) => r.moveToNetns((await r.mustLink(name)).index, target.fd));
      } finally {
        target.close();
      }
    }
    // Rename after the move, inside the target: the pod's name (eth0...) may exist in the host.
    if (newName && newName !== name) await withRtnl(to, async (r) => r.setName((await r.mustLink(name)).index, newName));
  }
}
