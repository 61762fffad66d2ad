// The CLI's HTTP-over-unix-socket client for the daemon's debug socket, and the
// explanation it gives when the daemon cannot be reached.
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { CliError, EXIT } from './exit.js';

export const DEFAULT_SOCKET = '/run/netlet/debug.sock';

export interface SocketChoice {
  path: string;
  /** Where the path came from, for error messages. */
  from: '--socket' | 'NETLET_SOCKET' | '--control' | 'NETLET_CONTROL_SOCKET' | 'default';
}

const POINT_AT: Record<'debug' | 'control', string> = {
  debug: 'If it uses another runDir or debugSocket, point the CLI at it with --socket PATH or NETLET_SOCKET.',
  control: 'If it uses another runDir or controlSocket, point the CLI at it with --control PATH or NETLET_CONTROL_SOCKET.',
};

const isControl = (sock: SocketChoice): boolean => sock.from === '--control' || sock.from === 'NETLET_CONTROL_SOCKET' || sock.path.endsWith('control.sock');

export function chooseSocket(flag: string | boolean | undefined, env: NodeJS.ProcessEnv): SocketChoice {
  if (typeof flag === 'string' && flag) return { path: flag, from: '--socket' };
  if (env.NETLET_SOCKET) return { path: env.NETLET_SOCKET, from: 'NETLET_SOCKET' };
  return { path: DEFAULT_SOCKET, from: 'default' };
}

export interface Reply {
  status: number;
  contentType: string;
  body: string;
}

/** `netlet daemon` processes found in /proc (not this process). */
export function findDaemons(procRoot = '/proc'): { pid: number; cmdline: string[] }[] {
  const out: { pid: number; cmdline: string[] }[] = [];
  let entries: string[];
  try {
    entries = readdirSync(procRoot);
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    let args: string[];
    try {
      args = readFileSync(`${procRoot}/${e}/cmdline`, 'utf8').split('\0').filter(Boolean);
    } catch {
      continue;
    }
    const isNetlet = args.some((a) => /(^|\/)netlet$/.test(a) || /(^|\/)cli\/main\.js$/.test(a));
    if (isNetlet && args.includes('daemon')) out.push({ pid: Number(e), cmdline: args });
  }
  return out;
}

/** Why the socket cannot be reached, and what to do. */
export function unreachable(sock: SocketChoice, err: NodeJS.ErrnoException): CliError {
  const why: Record<string, string> = {
    ENOENT: 'no socket file there',
    ECONNREFUSED: 'the socket file is there but nothing listens on it (a daemon that died?)',
    EACCES: 'permission denied (the socket is root-only, mode 0600: run as root)',
    ENOTSOCK: 'that path is not a socket',
    ENOTDIR: 'a parent of that path is not a directory',
  };
  const lines = [`netlet: cannot reach the netlet daemon at ${sock.path} (${sock.from === 'default' ? 'the default' : `from ${sock.from}`}): ${why[err.code ?? ''] ?? err.message}`];
  const daemons = findDaemons();
  if (daemons.length === 0) {
    lines.push('No `netlet daemon` process is running. Start one with `netlet daemon --config FILE`.');
  } else {
    for (const d of daemons) lines.push(`A netlet daemon is running: pid ${d.pid}: ${d.cmdline.join(' ')}`);
    lines.push(POINT_AT[isControl(sock) ? 'control' : 'debug']);
  }
  return new CliError(lines.join('\n'), EXIT.UNREACHABLE);
}

/** GET `path` on the debug socket. */
export function get(sock: SocketChoice, path: string, timeoutMs = 30_000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: sock.path, path, method: 'GET', timeout: timeoutMs, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => reject(e.code && e.code !== 'ETIMEDOUT' && e.code !== 'ECONNRESET' ? unreachable(sock, e) : new CliError(`netlet: ${sock.path}: ${e.message}`, EXIT.ERROR)));
    req.end();
  });
}

/** GET returning parsed JSON; 404 becomes exit 4, other errors exit 1. */
export async function getJson<T>(sock: SocketChoice, path: string): Promise<T> {
  const r = await get(sock, path);
  if (r.status === 200) return JSON.parse(r.body) as T;
  throw replyError(r);
}

export function replyError(r: Reply): CliError {
  let msg = r.body.trim();
  try {
    msg = (JSON.parse(r.body) as { error?: string }).error ?? msg;
  } catch {
    // not JSON
  }
  return new CliError(`netlet: ${msg}`, r.status === 404 ? EXIT.NOT_FOUND : EXIT.ERROR);
}
