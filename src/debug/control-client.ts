// A client for the control socket (control.ts), for out-of-process VM runtimes written
// in node, the demo and tests. With fds it speaks HTTP itself on the raw connection and
// reads it with recvmsg, so the SCM_RIGHTS fds that follow the response are not lost.
import { closeSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { native } from '../io/native.js';
import { NetletError } from '../model/errors.js';
import type { AttachInterfaceRequest, SetupRequest } from '../actors/options.js';
import type { WireInterface, WirePodNetwork } from './control.js';

export interface ControlResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface SetupResult {
  network: WirePodNetwork;
  /** TAP fds by interface name, one per queue (the caller owns and closes them). */
  fds: Record<string, number[]>;
}

export interface AttachResult {
  interface: WireInterface;
  /** The TAP's fds, one per queue (the caller owns and closes them). */
  fds: number[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A plain request without fds. */
export function controlRequest(socketPath: string, method: string, path: string, body?: unknown, timeoutMs = 120_000): Promise<ControlResponse> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = httpRequest({
      socketPath, method, path, timeout: timeoutMs, agent: false,
      headers: data ? { 'content-type': 'application/json', 'content-length': data.length } : {},
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers as Record<string, string>, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${socketPath} in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(data);
  });
}

/** Parses "HTTP/1.1 200 OK\r\nA: b\r\n\r\n" + body + rest. */
function splitResponse(buf: Buffer): { status: number; headers: Record<string, string>; body: Buffer; rest: Buffer } | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? NaN);
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  const len = Number(headers['content-length'] ?? NaN);
  if (!Number.isFinite(status) || !Number.isInteger(len)) return undefined;
  const bodyStart = end + 4;
  if (buf.length < bodyStart + len) return undefined;
  return { status, headers, body: buf.subarray(bodyStart, bodyStart + len), rest: buf.subarray(bodyStart + len) };
}

/** A non-200 answer as a NetletError with the server's code and message. */
function answerError(status: number, text: string): NetletError {
  let err: { error?: string; code?: string } = {};
  try {
    err = JSON.parse(text) as typeof err;
  } catch {
    // not JSON
  }
  return new NetletError(err.code ?? `HTTP_${status}`, err.error ?? `control socket answered ${status}`, { status });
}

/**
 * POST `path` with `body`, asking for TAP fds: the answer's JSON text and the fds received
 * by interface name. Throws a NetletError with the server's code for a non-200 answer.
 */
async function postWithFds(socketPath: string, path: string, req: unknown, timeoutMs: number): Promise<{ text: string; fds: Record<string, number[]> }> {
  const sock: Socket = connect(socketPath);
  // Paused before it connects: node never reads this connection, recvmsg does.
  sock.pause();
  const received: number[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    const body = Buffer.from(JSON.stringify(req));
    const head = `POST ${path} HTTP/1.1\r\nHost: netlet\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nX-Netlet-Fds: scm-rights\r\nConnection: close\r\n\r\n`;
    await new Promise<void>((resolve, reject) => sock.write(Buffer.concat([Buffer.from(head), body]), (e) => (e ? reject(e) : resolve())));
    const fd = (sock as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (fd === undefined || fd < 0) throw new Error('the connection has no fd');
    const chunks: Buffer[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let r: { data: Buffer; fds: number[] };
      try {
        r = native.recvFds(fd, 65536, 253);
      } catch (e) {
        if ((e as { code?: string }).code !== 'EAGAIN') throw e;
        if (Date.now() > deadline) throw new Error(`no answer from ${socketPath} in ${timeoutMs} ms`, { cause: e });
        await sleep(5);
        continue;
      }
      received.push(...r.fds);
      if (r.data.length === 0) break; // EOF: the server is done
      chunks.push(r.data);
    }
    const parsed = splitResponse(Buffer.concat(chunks));
    if (!parsed) throw new Error('the control socket sent an incomplete HTTP response');
    const text = parsed.body.toString('utf8');
    if (parsed.status !== 200) throw answerError(parsed.status, text);
    const rest = parsed.rest;
    if (rest.length < 4) throw new Error('the fd frame is missing after the response');
    const n = rest.readUInt32BE(0);
    const layout = JSON.parse(rest.subarray(4, 4 + n).toString('utf8')) as { name: string; queues: number }[];
    const want = layout.reduce((a, l) => a + l.queues, 0);
    if (want !== received.length) throw new Error(`the fd frame names ${want} fds but ${received.length} arrived`);
    const fds: Record<string, number[]> = {};
    let k = 0;
    for (const l of layout) {
      fds[l.name] = received.slice(k, k + l.queues);
      k += l.queues;
    }
    received.length = 0;
    return { text, fds };
  } finally {
    for (const fd of received) closeSync(fd);
    sock.destroy();
  }
}

/** POST /v1/pods asking for the TAP fds: returns the network and the fds received. */
export async function setupPodWithFds(socketPath: string, req: SetupRequest, timeoutMs = 120_000): Promise<SetupResult> {
  const { text, fds } = await postWithFds(socketPath, '/v1/pods', req, timeoutMs);
  return { network: JSON.parse(text) as WirePodNetwork, fds };
}

/** POST /v1/pods/{id}/interfaces asking for the TAP fds: the attached interface and its fds (none for SR-IOV). */
export async function attachInterfaceWithFds(socketPath: string, podId: string, req: AttachInterfaceRequest, timeoutMs = 120_000): Promise<AttachResult> {
  const { text, fds } = await postWithFds(socketPath, `/v1/pods/${encodeURIComponent(podId)}/interfaces`, req, timeoutMs);
  return { interface: JSON.parse(text) as WireInterface, fds: Object.values(fds).flat() };
}

/** DELETE /v1/pods/{id}/interfaces/{ifName}; throws a NetletError with the server's code for a non-200 answer. */
export async function detachInterface(socketPath: string, podId: string, ifName: string, timeoutMs = 120_000): Promise<void> {
  const r = await controlRequest(socketPath, 'DELETE', `/v1/pods/${encodeURIComponent(podId)}/interfaces/${encodeURIComponent(ifName)}`, undefined, timeoutMs);
  if (r.status !== 200) throw answerError(r.status, r.body);
}
