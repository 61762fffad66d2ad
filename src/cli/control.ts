// The CLI's calls on the daemon's control socket (the one that changes pods): where it
// is, and its answers turned into the CLI's exit codes.
import { controlRequest } from '../debug/control-client.js';
import { replyError, unreachable, type SocketChoice } from './client.js';
import { CliError, EXIT } from './exit.js';

export const DEFAULT_CONTROL_SOCKET = '/run/netlet/control.sock';
export const controlOption = { control: { type: 'string' } } as const;
export const CONTROL_HELP = `  --control PATH  the daemon's control socket (else $NETLET_CONTROL_SOCKET, else ${DEFAULT_CONTROL_SOCKET})`;

export function chooseControlSocket(flag: string | boolean | undefined, env: NodeJS.ProcessEnv): SocketChoice {
  if (typeof flag === 'string' && flag) return { path: flag, from: '--control' };
  if (env.NETLET_CONTROL_SOCKET) return { path: env.NETLET_CONTROL_SOCKET, from: 'NETLET_CONTROL_SOCKET' };
  return { path: DEFAULT_CONTROL_SOCKET, from: 'default' };
}

/** A request without fds; the JSON answer, or a CliError (404: exit 4, unreachable: exit 3, else 1). */
export async function callControl<T>(sock: SocketChoice, method: string, path: string, body?: unknown): Promise<T> {
  let r: Awaited<ReturnType<typeof controlRequest>>;
  try {
    r = await controlRequest(sock.path, method, path, body);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw err.code && err.code !== 'ECONNRESET' ? unreachable(sock, err) : new CliError(`netlet: ${sock.path}: ${err.message}`, EXIT.ERROR);
  }
  if (r.status !== 200) throw replyError({ status: r.status, contentType: r.headers['content-type'] ?? '', body: r.body });
  return JSON.parse(r.body) as T;
}
