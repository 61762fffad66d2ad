// An rtnetlink socket whose every request goes from a libuv pool thread, on a socket of its
// own made in the netns (the addon's rtnlRequest). rtnetlink runs a request inside sendmsg and
// waits for the rtnl lock there: while other pods' link deletions hold it (30-50 ms each, RCU
// grace periods), a request sent from the event loop stops every pod for as long. Measured at
// 50 teardowns at once: the main thread 200 ms on CPU, blocked in sendmsg for the other ~1.9 s.
import netlinkPkg from 'netlink';
import type { NetlinkSocket, RtNetlinkSocket as RtSocket, NetlinkMessage } from 'netlink';
import { native } from './native.js';

const { formatMessage, parseMessages, checkError, Flags, MessageType, RtNetlinkSocket } = netlinkPkg;

/** The package's rtnetlink API over pool-thread requests (same replies, same errors). */
export function pooledRtNetlink(nsFd: number): RtSocket {
  const socket = {
    on: () => socket,
    address: () => ({ port: 0, groups: 0 }),
    close: () => undefined,
    async request(type: number, data: Uint8Array[], options?: { flags?: number }): Promise<[NetlinkMessage[], object]> {
      // Alone on its socket: one seq is enough.
      const req = Buffer.concat(formatMessage({ type, flags: Number(options?.flags) | Flags.REQUEST | Flags.ACK, seq: 1, port: 0, data }));
      const msgs = parseMessages(await native.rtnlRequest(nsFd, req));
      const first = msgs[0];
      if (!first) throw new Error('Request rejected: EIO');
      // A dump's parts are flagged MULTI and end in DONE; any other reply is one message.
      const reply = first.flags & Flags.MULTI ? msgs.filter((m) => m.type !== (MessageType.DONE as number)) : [first];
      // As the package: an error throws "Request rejected: <code>", an ack is no messages.
      return [checkError(first) ? [] : reply, {}];
    },
  };
  return new RtNetlinkSocket(socket as unknown as NetlinkSocket);
}
