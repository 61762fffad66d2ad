// Unix-socket plumbing shared by the debug and control servers: owner-only sockets,
// stale socket files removed, a live server never displaced; JSON replies.
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { connect, type Server } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NetletError } from '../model/errors.js';

/** Resolves true if something accepts connections on `path`. */
export function socketIsLive(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    const done = (live: boolean): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(live);
    };
    // A server too busy to accept within the timeout still holds the path.
    const timer = setTimeout(() => done(true), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', (e: NodeJS.ErrnoException) => done(e.code !== 'ECONNREFUSED' && e.code !== 'ENOENT' && e.code !== 'ENOTSOCK'));
  });
}

/**
 * Listens on `path` with mode 0600. A socket file nobody listens on is removed first;
 * a live server or a file that is not a socket makes this throw SOCKET_IN_USE.
 */
export async function listenUnix(server: Server, path: string): Promise<{ ino: number }> {
  let st: ReturnType<typeof lstatSync> | undefined;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (st) {
    if (!st.isSocket()) throw new NetletError('SOCKET_IN_USE', `${path} exists and is not a socket; not removing it`);
    if (await socketIsLive(path)) throw new NetletError('SOCKET_IN_USE', `another server is listening on ${path} (is a netlet daemon already running?)`);
    unlinkSync(path);
  }
  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    server.once('error', onError);
    // The socket is created owner-only: no window in which others could connect.
    const old = process.umask(0o177);
    try {
      server.listen(path, () => {
        server.off('error', onError);
        resolve();
      });
    } finally {
      process.umask(old);
    }
  });
  chmodSync(path, 0o600);
  return { ino: lstatSync(path).ino };
}

/** Removes the socket file if it is still the one this server created. */
export function unlinkOwn(path: string, ino: number): void {
  try {
    if (lstatSync(path).ino === ino) unlinkSync(path);
  } catch {
    // already gone
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, text: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** A request's path split into decoded segments, and its query; undefined if undecodable. */
export function parseTarget(req: IncomingMessage): { path: string; segments: string[]; query: URLSearchParams } | undefined {
  try {
    const url = new URL(req.url ?? '/', 'http://netlet.invalid');
    const segments = url.pathname.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
    return { path: url.pathname, segments, query: url.searchParams };
  } catch {
    return undefined;
  }
}

/** Malformed HTTP gets a 400 when the socket can still take it; it never reaches the runtime. */
export function onClientError(err: Error & { code?: string }, socket: import('node:stream').Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ error: `bad request: ${err.code ?? err.message}` });
  socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** An HTTP status for an error from the runtime. */
export function statusFor(e: unknown): number {
  const code = (e as { code?: unknown }).code;
  if (code === 'INVALID_REQUEST' || code === 'CNI_RESULT_INVALID' || code === 'INTERFACE_NOT_IN_RESULT' || code === 'CNI_NETWORK_NOT_FOUND' || code === 'CNI_NOT_CONFIGURED') return 400;
  if (code === 'POD_NOT_FOUND') return 404;
  if (code === 'POD_BUSY' || code === 'POD_NOT_READY' || code === 'IFNAME_IN_USE' || code === 'DEFAULT_ROUTE_TAKEN') return 409;
  if (code === 'RUNTIME_CLOSED') return 503;
  return 500;
}

/** Listens on the unix socket (0600) with the malformed-request guard; close() also removes the socket file. */
export async function serveUnix(
  server: import('node:http').Server,
  socketPath: string,
  log: { info(o: object, msg: string): void },
  what: string,
): Promise<{ path: string; close(): Promise<void> }> {
  server.on('clientError', onClientError);
  const { ino } = await listenUnix(server, socketPath);
  log.info({ socket: socketPath }, `${what} socket listening`);
  let closing: Promise<void> | undefined;
  return {
    path: socketPath,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        unlinkOwn(socketPath, ino);
      });
      return closing;
    },
  };
}
