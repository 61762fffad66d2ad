// Typed access to netlet's native addon (native/netlet.cc). Errors come back as
// SysError with the errno name and the syscall; the addon never crashes the process.
import { createRequire } from 'node:module';
import { SysError } from '../model/errors.js';

interface NativeAddon {
  setns(fd: number): void;
  currentNetns(): number;
  socketIn(nsFd: number, domain: number, type: number, protocol: number): number;
  udpBound(nsFd: number, device: string, port: number): number;
  openTap(nsFd: number, name: string, opts: TapOptions): number[];
  setTapPersist(fd: number, on: boolean): void;
  sendFds(sockFd: number, fds: number[], payload: Buffer): number;
  recvFds(sockFd: number, maxBytes: number, maxFds: number): { data: Buffer; fds: number[]; truncated: boolean };
  nftRun(nsFd: number, text: string): { ok: boolean; output: string; error: string };
  moveHigh(fd: number): number;
  dupHigh(fd: number): number;
  closeFd(fd: number): void;
  nftRunAsync(nsFd: number, text: string): Promise<{ ok: boolean; output: string; error: string }>;
  rtnlRequest(nsFd: number, request: Buffer): Promise<Buffer>;
  rtnlSocket(nsFd: number): number;
  rtnlExchange(fd: number, request: Buffer): Buffer;
  nfRequest(nsFd: number, request: Buffer): Buffer;
  nfRequestAsync(nsFd: number, request: Buffer): Promise<Buffer>;
  open6(nsFd: number, device: string, kind: Socket6Kind): { fd: number; ifindex: number };
  send6(fd: number, data: Uint8Array, address: string, port: number, ifindex: number): number;
  Watch6: new (fd: number, onMessage: OnDatagram6) => { close(): void };
  WatchLinks: new (nsFd: number, onEvents: (datagram: Buffer | null) => void) => { close(): void };
  sysctlIn(nsFd: number, name: string, value?: string): string;
  spawnPiped(file: string, argv: string[], env: string[], newGroup: boolean): SpawnedFds;
  waitExit(pidfd: number): Promise<{ code: number | null; signal: string | null }>;
}

/** A process spawnPiped started: its pid, a pidfd for waitExit, and the parent ends of its stdio pipes. */
export interface SpawnedFds { pid: number; pidfd: number; stdin: number; stdout: number; stderr: number }

/** "rs": raw ICMPv6 passing Router Solicitations only, joined to ff02::2; "dhcp6": UDP [::]:547 joined to ff02::1:2. */
export type Socket6Kind = 'rs' | 'dhcp6';
/** One datagram: payload (no IPv6 header), source, destination (IPV6_PKTINFO), hop limit (-1 unknown), source port (0 for raw). */
export type OnDatagram6 = (data: Buffer, source: string, destination: string, hopLimit: number, port: number) => void;

export interface TapOptions {
  /** IFF_VNET_HDR: QEMU's virtio-net wants it. */
  vnetHdr?: boolean;
  /** Queues (one fd each); > 1 implies IFF_MULTI_QUEUE. */
  queues?: number;
  multiQueue?: boolean;
  /** TUNSETPERSIST: the TAP outlives its fds, so a restarted VM can reopen it. */
  persist?: boolean;
}

const require = createRequire(import.meta.url);
// The addon sits in build/Release at the package root (dist/src/io -> ../../../).
const addon = require('../../../build/Release/netlet_native.node') as NativeAddon;

function asSysError(e: unknown): unknown {
  const err = e as { code?: string; syscall?: string; message?: string };
  return err && typeof err.code === 'string' && typeof err.syscall === 'string' ? new SysError(err.code, err.syscall, err.message) : e;
}

function wrap<A extends unknown[], R>(fn: (...a: A) => R): (...a: A) => R {
  return (...a: A): R => {
    try {
      return fn(...a);
    } catch (e) {
      throw asSysError(e);
    }
  };
}

/** wrap() for a call that returns a promise: every failure, a type error or a bad fd the addon throws at once too, a typed rejection. */
function wrapAsync<A extends unknown[], R>(fn: (...a: A) => Promise<R>): (...a: A) => Promise<R> {
  return async (...a: A): Promise<R> => {
    try {
      return await fn(...a);
    } catch (e) {
      throw asSysError(e);
    }
  };
}

export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_NETLINK = 16;
export const AF_PACKET = 17;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;

export const native = {
  /** setns(CLONE_NEWNET) for the calling thread. */
  setns: wrap((fd: number) => addon.setns(fd)),
  /** An fd for the calling thread's current netns. */
  currentNetns: wrap(() => addon.currentNetns()),
  /** A socket created inside nsFd's netns; the caller's thread is back home on return. */
  socketIn: wrap((nsFd: number, domain: number, type: number, protocol: number) => addon.socketIn(nsFd, domain, type, protocol)),
  /** Non-blocking UDP socket on 0.0.0.0:port, SO_BINDTODEVICE device, in nsFd's netns. */
  udpBound: wrap((nsFd: number, device: string, port: number) => addon.udpBound(nsFd, device, port)),
  /** Opens (creating if absent) TAP `name` in nsFd's netns; one fd per queue. */
  openTap: wrap((nsFd: number, name: string, opts: TapOptions = {}) => addon.openTap(nsFd, name, opts)),
  setTapPersist: wrap((fd: number, on: boolean) => addon.setTapPersist(fd, on)),
  /** One sendmsg carrying fds as SCM_RIGHTS plus payload. */
  sendFds: wrap((sockFd: number, fds: number[], payload: Buffer) => addon.sendFds(sockFd, fds, payload)),
  /** One blocking recvmsg: data and any fds received. */
  recvFds: wrap((sockFd: number, maxBytes: number, maxFds: number) => addon.recvFds(sockFd, maxBytes, maxFds)),
  /** Runs an nftables script (`nft -f` syntax) in nsFd's netns through libnftables, in process. */
  nftRun: wrap((nsFd: number, text: string) => addon.nftRun(nsFd, text)),
  /** The same fd renumbered at or above 1024 (FD_SETSIZE), the old number closed: see HighFd in the addon. */
  moveHigh: wrap((fd: number) => addon.moveHigh(fd)),
  /** A second fd for the same socket (at or above FD_SETSIZE when it can be). */
  dupHigh: wrap((fd: number) => addon.dupHigh(fd)),
  /** close(2) of an fd the addon made (fs.closeSync warns about those in a worker); EBADF ignored. */
  closeFd: wrap((fd: number) => addon.closeFd(fd)),
  /** A device-bound non-blocking IPv6 socket in nsFd's netns (see Socket6Kind); ifindex is the device's there. */
  open6: wrap((nsFd: number, device: string, kind: Socket6Kind) => addon.open6(nsFd, device, kind)),
  /** One non-blocking sendto (port 0 on raw sockets); -1 when the socket buffer is full. */
  send6: wrap((fd: number, data: Uint8Array, address: string, port: number, ifindex: number) => addon.send6(fd, data, address, port, ifindex)),
  /** Reads fd on this thread's event loop (uv_poll) until close(), which also closes fd. */
  watch6: wrap((fd: number, onMessage: OnDatagram6) => new addon.Watch6(fd, onMessage)),
  /** nsFd's netns's link events (RTNLGRP_LINK) read on this thread's event loop: each datagram's rtnetlink messages, null when some were lost (ENOBUFS); until close(). */
  watchLinks: wrap((nsFd: number, onEvents: (datagram: Buffer | null) => void) => new addon.WatchLinks(nsFd, onEvents)),
  /** Reads (and writes, with value) /proc/sys/<name> as nsFd's netns sees it; returns the old value. */
  sysctlIn: wrap((nsFd: number, name: string, value?: string) => (value === undefined ? addon.sysctlIn(nsFd, name) : addon.sysctlIn(nsFd, name, value))),
  /** nftRun on a thread of its own (not the libuv pool): for scripts that wait on the kernel (a table delete). */
  nftRunAsync: wrapAsync((nsFd: number, text: string) => addon.nftRunAsync(nsFd, text)),
  /** One rtnetlink request (a whole nlmsghdr with NLM_F_ACK) from a pool thread, in nsFd's netns: its replies' bytes, up to the ack or NLMSG_DONE. */
  rtnlRequest: wrapAsync((nsFd: number, request: Buffer) => addon.rtnlRequest(nsFd, request)),
  /** An rtnetlink socket made in nsFd's netns, for rtnlExchange (its reads time out after 10 s). */
  rtnlSocket: wrap((nsFd: number) => addon.rtnlSocket(nsFd)),
  /** One rtnetlink request on this thread, on an rtnlSocket: its replies' bytes, up to the ack or NLMSG_DONE. */
  rtnlExchange: wrap((fd: number, request: Buffer) => addon.rtnlExchange(fd, request)),
  /** One nf_tables netlink request (a whole nlmsghdr) in nsFd's netns, on this thread: its replies' bytes, up to the ack or NLMSG_DONE. */
  nfRequest: wrap((nsFd: number, request: Buffer) => addon.nfRequest(nsFd, request)),
  /** nfRequest on the nft threads (see nftRunAsync). */
  nfRequestAsync: wrapAsync((nsFd: number, request: Buffer) => addon.nfRequestAsync(nsFd, request)),
  /** posix_spawnp with stdio pipes, no fork (see src/io/spawn.ts); argv includes argv[0]. */
  spawnPiped: wrap((file: string, argv: string[], env: string[], newGroup: boolean) => addon.spawnPiped(file, argv, env, newGroup)),
  /** Resolves once the process of pidfd has exited (reaped; pidfd closed). */
  waitExit: wrapAsync((pidfd: number) => addon.waitExit(pidfd)),
};
