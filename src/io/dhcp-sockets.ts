// The sockets an interface's DHCP service reads, made in the pod netns and bound to its
// bridge: UDP 67 for DHCPv4; for IPv6, UDP 547 (DHCPv6) and a raw ICMPv6 socket (RS in, RA
// out). The pool opens them on the main thread (a failure fails the serve there and then)
// and holds them until the interface is stopped; a worker reads each through a dup of its
// own (an fd is the process's, whichever thread made it), so every fd has one owner: a dead
// worker's dups go with it, and its replacement dups the pool's again (still bound).
import { closeSync, openSync } from 'node:fs';
import { native } from './native.js';

export interface Socket6 {
  fd: number;
  ifindex: number;
}

export interface ServeSockets {
  v4?: number;
  dhcp6?: Socket6;
  rs?: Socket6;
}

/** Opens what the service needs; on a failure closes what it had opened and throws. */
export function openServeSockets(netnsPath: string, bridge: string, want: { v4: boolean; v6: boolean }): ServeSockets {
  const out: ServeSockets = {};
  if (!want.v4 && !want.v6) return out;
  const nsFd = openSync(netnsPath, 'r');
  try {
    if (want.v4) out.v4 = native.udpBound(nsFd, bridge, 67);
    if (want.v6) {
      out.dhcp6 = native.open6(nsFd, bridge, 'dhcp6');
      out.rs = native.open6(nsFd, bridge, 'rs');
    }
    return out;
  } catch (e) {
    closeServeSockets(out);
    throw e;
  } finally {
    closeSync(nsFd);
  }
}

export function closeServeSockets(s: ServeSockets): void {
  for (const fd of [s.v4, s.dhcp6?.fd, s.rs?.fd]) if (fd !== undefined) native.closeFd(fd);
}

/** Dups of `s`'s fds (the caller owns them); on a failure closes the dups made and throws. */
export function dupServeSockets(s: ServeSockets): ServeSockets {
  const out: ServeSockets = {};
  try {
    if (s.v4 !== undefined) out.v4 = native.dupHigh(s.v4);
    if (s.dhcp6) out.dhcp6 = { fd: native.dupHigh(s.dhcp6.fd), ifindex: s.dhcp6.ifindex };
    if (s.rs) out.rs = { fd: native.dupHigh(s.rs.fd), ifindex: s.rs.ifindex };
    return out;
  } catch (e) {
    closeServeSockets(out);
    throw e;
  }
}
