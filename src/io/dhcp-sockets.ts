// The sockets an interface's DHCP service reads, made in the pod netns and bound to its
// bridge: UDP 67 for DHCPv4; for IPv6, UDP 547 (DHCPv6) and a raw ICMPv6 socket (RS in, RA
// out). Opened by the pool on the main thread (a failure fails the serve there and then) and
// read by a worker: an fd is the process's, whichever thread made it. A replacement worker
// opens its own.
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
  for (const fd of [s.v4, s.dhcp6?.fd, s.rs?.fd]) {
    if (fd === undefined) continue;
    try {
      closeSync(fd);
    } catch {
      // Already closed: nothing to release.
    }
  }
}
