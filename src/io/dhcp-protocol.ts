// Messages between the DHCP pool (main thread) and its workers.
import type { DhcpServerConfig, DhcpServerStatus, RateLimit } from '../dhcp/index.js';
import type { Dhcp6ServerConfig } from '../dhcp6/index.js';
import type { RouterAdvertisement } from '../ra/index.js';
import type { Ipv6Status } from './ipv6-status.js';
import type { ServeSockets } from './dhcp-sockets.js';

/** IPv6 service of an interface: DHCPv6 on [::]:547 and RAs, both on the bridge. */
export interface Ipv6Serve {
  dhcp6: Dhcp6ServerConfig;
  ra: RouterAdvertisement;
  /** Options raFromPlan left out to fit (shown in the status). */
  raDropped?: string[];
}

export interface ServeRequest {
  key: string;
  netnsPath: string;
  bridge: string;
  /** DHCPv4 config; absent: no DHCPv4 (an IPv6-only interface). */
  config?: DhcpServerConfig;
  /** Absent: no IPv6 service. */
  ipv6?: Ipv6Serve;
  /** The interface's token bucket, `false` for none; default: the pool's, else
   *  DEFAULT_RATE_LIMIT. Fixed at the first serve. */
  rateLimit?: RateLimit | false;
}

/** A serve as posted: `fds` the sockets the pool holds for the key (the worker reads dups);
 *  `ack`: confirm with 'serving' (else only a failure is told). */
export type ServeMessage = { op: 'serve'; fds: ServeSockets; ack?: boolean } & ServeRequest;

export type ToWorker =
  | ServeMessage
  | { op: 'stop'; key: string }
  | { op: 'reconfigure'; key: string; config: DhcpServerConfig }
  | { op: 'reconfigure6'; key: string; ipv6: Ipv6Serve };

export type FromWorker =
  | { op: 'serving'; key: string }
  /** The worker has loaded and listens. */
  | { op: 'started' }
  | { op: 'failed'; key: string; code: string; message: string }
  | { op: 'stopped'; key: string }
  | { op: 'status'; key: string; status: DhcpServerStatus; lastEvent?: string }
  | { op: 'status6'; key: string; status: Ipv6Status; lastEvent?: string }
  /** Something the main thread should log for the interface (workers have no logger). */
  | { op: 'log'; key: string; level: 'warn' | 'error'; msg: string; fields: Record<string, unknown> };
