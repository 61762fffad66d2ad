// Answers of the control socket that carry TAP fds: the JSON body, then ONE message on the
// same connection with the fds as SCM_RIGHTS (the wire format is in control.ts's header).
import type { ServerResponse } from 'node:http';
import { closeSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { PodInterface } from '../actors/types.js';
import { native } from '../io/native.js';
import { sendJson } from './socket.js';

/** The most fds one SCM_RIGHTS message carries (the kernel's SCM_MAX_FD is 253). */
export const MAX_FDS = 253;

/** A PodInterface as JSON: a TAP carries its queue count instead of fds. */
export type WireInterface = Omit<Extract<PodInterface, { kind: 'tap' }>, 'fd' | 'fds'> & { queues: number } | Extract<PodInterface, { kind: 'sriov' }>;

export function toWireInterface(i: PodInterface): WireInterface {
  if (i.kind !== 'tap') return i;
  const { fd: _fd, fds, ...rest } = i;
  return { ...rest, queues: fds.length };
}

export const allFds = (ifaces: PodInterface[]): number[] => ifaces.flatMap((i) => (i.kind === 'tap' ? i.fds : []));

/** The fd frame: length-prefixed JSON naming what the fds are. */
export function fdFrame(ifaces: PodInterface[]): Buffer {
  const json = Buffer.from(JSON.stringify(ifaces.flatMap((i) => (i.kind === 'tap' ? [{ name: i.name, queues: i.fds.length }] : []))));
  const head = Buffer.alloc(4);
  head.writeUInt32BE(json.length);
  return Buffer.concat([head, json]);
}

const closeAll = (fds: number[]): void => {
  for (const fd of fds) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }
};

/** One sendmsg, retried while the socket buffer is full. */
async function sendFdsRetry(sockFd: number, fds: number[], payload: Buffer): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      native.sendFds(sockFd, fds, payload);
      return;
    } catch (e) {
      if ((e as { code?: string }).code !== 'EAGAIN' || attempt > 200) throw e;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/** 200 with `wire` as JSON, and the fds of `ifaces` behind it when asked; closes netlet's copies in any case. */
export async function replyWithFds(res: ServerResponse, wire: unknown, ifaces: PodInterface[], wantFds: boolean, path: string): Promise<void> {
  const fds = allFds(ifaces);
  try {
    if (res.destroyed) return;
    if (!wantFds) return sendJson(res, 200, wire);
    if (fds.length > MAX_FDS) {
      return sendJson(res, 500, { error: `${fds.length} TAP fds do not fit one SCM_RIGHTS message (max ${MAX_FDS}); ask without fds and use the runtime API`, path });
    }
    const text = `${JSON.stringify(wire, null, 2)}\n`;
    res.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      'x-netlet-fds': String(fds.length),
      connection: 'close',
    });
    // The body is flushed to the kernel before the fd message is sent behind it.
    await new Promise<void>((resolve, reject) => res.write(text, (e) => (e ? reject(e) : resolve())));
    const sock = res.socket as Socket & { _handle?: { fd?: number } };
    const sockFd = sock._handle?.fd;
    if (sockFd === undefined || sockFd < 0) throw new Error('the connection has no fd');
    const frame = fdFrame(ifaces);
    if (fds.length) await sendFdsRetry(sockFd, fds, frame);
    else await new Promise<void>((resolve, reject) => sock.write(frame, (e) => (e ? reject(e) : resolve())));
    res.end();
  } finally {
    // The client holds its own copies now (or never wanted them).
    closeAll(fds);
  }
}
