// The control socket for out-of-process VM runtimes: HTTP over a unix socket (0600).
//
//   POST   /v1/pods        body: a setupPod request (JSON) -> PodNetwork without fds
//   DELETE /v1/pods/{id}   teardownPod -> {podId, deleted: true}
//
// TAP fds: with the header `X-Netlet-Fds: scm-rights` (or `?fds=1`) the response carries
// `X-Netlet-Fds: <count>` and a Content-Length body; right after the body's last byte the
// server sends ONE more message on the same connection:
//
//   4-byte big-endian length N, then N bytes of JSON [{"name":"eth0","queues":2}, ...]
//
// with the fds attached as SCM_RIGHTS (interface by interface, queue by queue, in the
// order of the JSON; none when count is 0), and then closes the connection. A client
// reads the connection with recvmsg until EOF, collecting bytes and fds: the fds arrive
// with the read that returns the frame's first byte. See docs/operators.md and
// control-client.ts.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { closeSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { Runtime } from '../actors/runtime.js';
import type { PodNetwork } from '../actors/types.js';
import { native } from '../io/native.js';
import { serveUnix, parseTarget, sendJson, statusFor } from './socket.js';
import type { SocketServer } from './server.js';

export const MAX_BODY = 1 << 20;
/** The most fds one SCM_RIGHTS message carries (the kernel's SCM_MAX_FD is 253). */
export const MAX_FDS = 253;

/** A PodNetwork as JSON: TAP interfaces carry their queue count instead of fds. */
export type WirePodNetwork = Omit<PodNetwork, 'interfaces'> & {
  interfaces: (Omit<Extract<PodNetwork['interfaces'][number], { kind: 'tap' }>, 'fd' | 'fds'> & { queues: number } | Extract<PodNetwork['interfaces'][number], { kind: 'sriov' }>)[];
};

export function toWire(net: PodNetwork): WirePodNetwork {
  return {
    ...net,
    interfaces: net.interfaces.map((i) => {
      if (i.kind !== 'tap') return i;
      const { fd: _fd, fds, ...rest } = i;
      return { ...rest, queues: fds.length };
    }),
  };
}

export const allFds = (net: PodNetwork): number[] => net.interfaces.flatMap((i) => (i.kind === 'tap' ? i.fds : []));

/** The fd frame: length-prefixed JSON naming what the fds are. */
export function fdFrame(net: PodNetwork): Buffer {
  const json = Buffer.from(JSON.stringify(net.interfaces.filter((i) => i.kind === 'tap').map((i) => ({ name: i.name, queues: i.fds.length }))));
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

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(Object.assign(new Error(`request body over ${MAX_BODY} bytes`), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
    req.on('aborted', () => reject(new Error('client went away')));
  });
}

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

async function handleSetup(rt: Runtime, req: IncomingMessage, res: ServerResponse, wantFds: boolean, path: string): Promise<void> {
  let body: unknown;
  try {
    body = JSON.parse((await readBody(req)).toString('utf8'));
  } catch (e) {
    const status = (e as { status?: number }).status ?? 400;
    if (!res.destroyed) sendJson(res, status, { error: status === 413 ? (e as Error).message : `the body is not JSON: ${(e as Error).message}`, path });
    return;
  }
  const net = await rt.setupPod(body as never);
  const fds = allFds(net);
  try {
    if (res.destroyed) return;
    if (!wantFds) return sendJson(res, 200, toWire(net));
    if (fds.length > MAX_FDS) {
      return sendJson(res, 500, { error: `${fds.length} TAP fds do not fit one SCM_RIGHTS message (max ${MAX_FDS}); ask without fds and use the runtime API`, path });
    }
    const text = `${JSON.stringify(toWire(net), null, 2)}\n`;
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
    const frame = fdFrame(net);
    if (fds.length) await sendFdsRetry(sockFd, fds, frame);
    else await new Promise<void>((resolve, reject) => sock.write(frame, (e) => (e ? reject(e) : resolve())));
    res.end();
  } finally {
    // The client holds its own copies now (or never wanted them).
    closeAll(fds);
  }
}

/** Starts the control server on `socketPath` (see the header comment). */
export async function startControlServer(rt: Runtime, socketPath: string): Promise<SocketServer> {
  const log = rt.logger.child({ component: 'control-socket' });
  const server = createServer((req, res) => {
    const t = parseTarget(req);
    if (!t) return sendJson(res, 400, { error: 'the request path cannot be decoded', path: req.url ?? '' });
    const [a, b, c, ...rest] = t.segments;
    if (a !== 'v1' || b !== 'pods' || rest.length) return sendJson(res, 404, { error: 'no such endpoint', path: t.path });
    const allowed = c === undefined ? 'POST' : 'DELETE';
    if (req.method !== allowed) {
      return sendJson(res, 405, { error: `${req.method} is not allowed on ${t.path} (use ${allowed})`, path: t.path }, { allow: allowed });
    }
    const fail = (e: unknown): void => {
      const status = statusFor(e);
      log.warn({ err: (e as Error).message, code: (e as { code?: string }).code, method: req.method, path: t.path }, 'control request failed');
      if (!res.headersSent && !res.destroyed) sendJson(res, status, { error: (e as Error).message, code: (e as { code?: string }).code ?? 'UNKNOWN', path: t.path });
      else res.destroy();
    };
    if (c === undefined) {
      const wantFds = (req.headers['x-netlet-fds'] ?? '').toString().toLowerCase() === 'scm-rights' || ['1', 'true'].includes(t.query.get('fds') ?? '');
      handleSetup(rt, req, res, wantFds, t.path).catch(fail);
    } else {
      rt.teardownPod(c).then(() => sendJson(res, 200, { podId: c, deleted: true }), fail);
    }
  });
  return serveUnix(server, socketPath, log, 'control');
}
