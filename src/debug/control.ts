// The control socket for out-of-process VM runtimes: HTTP over a unix socket (0600).
//
//   POST   /v1/pods                             body: a setupPod request (JSON) -> PodNetwork without fds
//   DELETE /v1/pods/{id}                        teardownPod -> {podId, deleted: true}
//   POST   /v1/pods/{id}/interfaces             body: {ifName, network?, cniResult?, defaultRoute?}
//                                               attachInterface -> the PodInterface without fds
//   DELETE /v1/pods/{id}/interfaces/{ifName}    detachInterface -> {podId, ifName, detached: true}
//
// TAP fds (both POSTs): with the header `X-Netlet-Fds: scm-rights` (or `?fds=1`) the response carries
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
import type { Runtime } from '../actors/runtime.js';
import type { PodNetwork } from '../actors/types.js';
import { serveUnix, parseTarget, sendJson, statusFor } from './socket.js';
import type { SocketServer } from './server.js';
import { replyWithFds, toWireInterface, type WireInterface } from './control-fds.js';

export { MAX_FDS, type WireInterface } from './control-fds.js';
export const MAX_BODY = 1 << 20;

/** A PodNetwork as JSON: TAP interfaces carry their queue count instead of fds. */
export type WirePodNetwork = Omit<PodNetwork, 'interfaces'> & { interfaces: WireInterface[] };

export const toWire = (net: PodNetwork): WirePodNetwork => ({ ...net, interfaces: net.interfaces.map(toWireInterface) });

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

/** The body as JSON, or undefined after answering 400/413. */
async function readJson(req: IncomingMessage, res: ServerResponse, path: string): Promise<{ body: unknown } | undefined> {
  try {
    return { body: JSON.parse((await readBody(req)).toString('utf8')) };
  } catch (e) {
    const status = (e as { status?: number }).status ?? 400;
    if (!res.destroyed) sendJson(res, status, { error: status === 413 ? (e as Error).message : `the body is not JSON: ${(e as Error).message}`, path });
    return undefined;
  }
}

async function handleSetup(rt: Runtime, req: IncomingMessage, res: ServerResponse, wantFds: boolean, path: string): Promise<void> {
  const r = await readJson(req, res, path);
  if (!r) return;
  const net = await rt.setupPod(r.body as never);
  await replyWithFds(res, toWire(net), net.interfaces, wantFds, path);
}

async function handleAttach(rt: Runtime, podId: string, req: IncomingMessage, res: ServerResponse, wantFds: boolean, path: string): Promise<void> {
  const r = await readJson(req, res, path);
  if (!r) return;
  const iface = await rt.attachInterface(podId, r.body as never);
  await replyWithFds(res, toWireInterface(iface), [iface], wantFds, path);
}

/** The method each path shape takes: /v1/pods, /v1/pods/{id}, /v1/pods/{id}/interfaces, .../{ifName}. */
const METHODS: Record<number, string> = { 0: 'POST', 1: 'DELETE', 2: 'POST', 3: 'DELETE' };

/** Starts the control server on `socketPath` (see the header comment). */
export async function startControlServer(rt: Runtime, socketPath: string): Promise<SocketServer> {
  const log = rt.logger.child({ component: 'control-socket' });
  const server = createServer((req, res) => {
    const t = parseTarget(req);
    if (!t) return sendJson(res, 400, { error: 'the request path cannot be decoded', path: req.url ?? '' });
    const [a, b, ...under] = t.segments;
    if (a !== 'v1' || b !== 'pods' || under.length > 3 || (under.length >= 2 && under[1] !== 'interfaces')) {
      return sendJson(res, 404, { error: 'no such endpoint', path: t.path });
    }
    const allowed = METHODS[under.length]!;
    if (req.method !== allowed) {
      return sendJson(res, 405, { error: `${req.method} is not allowed on ${t.path} (use ${allowed})`, path: t.path }, { allow: allowed });
    }
    const fail = (e: unknown): void => {
      const status = statusFor(e);
      log.warn({ err: (e as Error).message, code: (e as { code?: string }).code, method: req.method, path: t.path }, 'control request failed');
      if (!res.headersSent && !res.destroyed) sendJson(res, status, { error: (e as Error).message, code: (e as { code?: string }).code ?? 'UNKNOWN', path: t.path });
      else res.destroy();
    };
    const wantFds = (req.headers['x-netlet-fds'] ?? '').toString().toLowerCase() === 'scm-rights' || ['1', 'true'].includes(t.query.get('fds') ?? '');
    const [podId, , ifName] = under;
    switch (under.length) {
      case 0: return void handleSetup(rt, req, res, wantFds, t.path).catch(fail);
      case 1: return void rt.teardownPod(podId!).then(() => sendJson(res, 200, { podId, deleted: true }), fail);
      case 2: return void handleAttach(rt, podId!, req, res, wantFds, t.path).catch(fail);
      default: return void rt.detachInterface(podId!, ifName!).then(() => sendJson(res, 200, { podId, ifName, detached: true }), fail);
    }
  });
  return serveUnix(server, socketPath, log, 'control');
}
