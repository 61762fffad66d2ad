// Messages between the DHCP pool (main thread) and its workers.
import type { DhcpServerConfig, DhcpServerStatus, RateLimit } from '../dhcp/index.js';

export interface ServeRequest {
  key: string;
  netnsPath: string;
  bridge: string;
  config: DhcpServerConfig;
  /** The interface's token bucket, `false` for none; default: the pool's, else
   *  DEFAULT_RATE_LIMIT. Fixed at the first serve. */
  rateLimit?: RateLimit | false;
}

export type ToWorker =
  | ({ op: 'serve' } & ServeRequest)
  | { op: 'stop'; key: string }
  | { op: 'reconfigure'; key: string; config: DhcpServerConfig };

export type FromWorker =
  | { op: 'serving'; key: string }
  | { op: 'failed'; key: string; code: string; message: string }
  | { op: 'stopped'; key: string }
  | { op: 'status'; key: string; status: DhcpServerStatus; lastEvent?: string }
  /** Something the main thread should log for the interface (workers have no logger). */
  | { op: 'log'; key: string; level: 'warn' | 'error'; msg: string; fields: Record<string, unknown> };
