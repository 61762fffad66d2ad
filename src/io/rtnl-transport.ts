// The `netlink` package's rtnetlink API (its message formats and parsing) over the addon's
// requests instead of the package's own socket, two ways:
// - pooled: every request from a libuv pool thread, on a socket of its own made in the netns
//   (rtnlRequest). rtnetlink runs a request inside sendmsg and waits for the rtnl lock there:
//   while other pods' link deletions hold it (30-50 ms each, RCU grace periods), a request sent
//   from the event loop stops every pod for as long. Measured at 50 teardowns at once: the main
//   thread 200 ms on CPU, blocked in sendmsg for the other ~1.9 s.
// - onThread: on the calling thread, on one socket kept per netns (rtnlExchange). The kernel
//   has answered by the time sendmsg returns, so the event loop turn the package's socket
//   waited for each reply, and its bookkeeping per request, bought nothing on the setup path.
import netlinkPkg from 'netlink';
import type { NetlinkSocket, RtNetlinkSocket as RtSocket, NetlinkMessage } from 'netlink';
import { native } from './native.js';

const { formatMessage, parseMessages, checkError, Flags, MessageType, RtNetlinkSocket } = netlinkPkg;

/** The package's API over `send`: the replies to one request (same replies, same errors as its socket). */
function rtNetlinkOver(send: (req: Buffer) => Buffer | Promise<Buffer>, close: () => void): RtSocket {
  let seq = 0;
  const socket = {
    on: () => socket,
    address: () => ({ port: 0, groups: 0 }),
    close,
    async request(type: number, data: Uint8Array[], options?: { flags?: number }): Promise<[NetlinkMessage[], object]> {
      // A seq of its own per request: a reply that came too late is never taken for the next one's.
      const s = (seq = (seq % 0x7fffffff) + 1);
      const req = Buffer.concat(formatMessage({ type, flags: Number(options?.flags) | Flags.REQUEST | Flags.ACK, seq: s, port: 0, data }));
      const msgs = parseMessages(await send(req));
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

/** Requests from pool threads, each on a socket of its own made in the netns of nsFd (the addon dups nsFd at the call). */
export function pooledRtNetlink(nsFd: number): RtSocket {
  return rtNetlinkOver((req) => native.rtnlRequest(nsFd, req), () => undefined);
}

/** Requests on the calling thread, on one rtnetlink socket made in the netns of nsFd; its owner (Rtnl) sends nothing after close. */
export function onThreadRtNetlink(nsFd: number): RtSocket {
  const fd = native.rtnlSocket(nsFd);
  let open = true;
  return rtNetlinkOver(
    (req) => native.rtnlExchange(fd, req),
    () => {
      // Once: a second close could close another file that has the number by then.
      if (open) native.closeFd(fd);
      open = false;
    },
  );
}
