// Runs one CNI plugin binary per the spec: CNI_* env, config on stdin, result or
// error JSON on stdout. A hung plugin is killed (with its process group) after a timeout.
import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { CniPluginError, CniPluginNotFoundError, CniTimeoutError } from './errors.js';

export const DEFAULT_BIN_DIRS: readonly string[] = ['/usr/lib/cni', '/opt/cni/bin'];
export const DEFAULT_TIMEOUT_MS = 30_000;

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS' | 'VERSION';

export interface PluginInvocation {
  /** Plugin type: the binary's name. */
  type: string;
  command: CniCommand;
  /** The plugin's config, sent as JSON on stdin. */
  config: Record<string, unknown>;
  /** CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS: only for ADD/DEL/CHECK. */
  containerId?: string;
  netns?: string;
  ifName?: string;
  args?: string;
  binDirs?: readonly string[];
  timeoutMs?: number;
  /** A command run in front of the plugin, e.g. ['ip', 'netns', 'exec', 'node1'] (tests, node-side netns). */
  wrapper?: readonly string[];
  /** How to start it; default node's spawn (which forks: the runtime passes src/io/spawn.ts's). */
  spawn?: PluginSpawn;
}

/** The part of a started process a plugin run uses (node's ChildProcess has it). */
export interface PluginProcess {
  readonly pid?: number | undefined;
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  on(event: 'close', f: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
  on(event: 'error', f: (e: Error) => void): unknown;
  kill(signal?: NodeJS.Signals): boolean;
}

export type PluginSpawn = (cmd: string, args: string[], opts: { env: Record<string, string>; detached: boolean }) => PluginProcess;

const forkSpawn: PluginSpawn = (cmd, args, opts) => spawn(cmd, args, { env: opts.env, stdio: ['pipe', 'pipe', 'pipe'], detached: opts.detached });

/** Finds an executable named `type` in the bin dirs (first wins). */
export async function findPlugin(type: string, binDirs: readonly string[]): Promise<string> {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(type)) throw new CniPluginNotFoundError(type, binDirs);
  for (const dir of binDirs) {
    const p = join(dir, type);
    try {
      await access(p, constants.X_OK);
      return p;
    } catch {
      // next dir
    }
  }
  throw new CniPluginNotFoundError(type, binDirs);
}

/** Runs the plugin; resolves with its parsed stdout (undefined when empty), rejects with typed errors. */
export async function invokePlugin(inv: PluginInvocation): Promise<unknown> {
  const binDirs = inv.binDirs ?? DEFAULT_BIN_DIRS;
  const binary = await findPlugin(inv.type, binDirs);
  const env: Record<string, string> = {
    CNI_COMMAND: inv.command,
    CNI_PATH: binDirs.join(':'),
    // Plugins such as bridge with ipMasq call iptables: keep PATH, nothing else of ours.
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
  };
  if (inv.containerId !== undefined) env.CNI_CONTAINERID = inv.containerId;
  if (inv.netns !== undefined) env.CNI_NETNS = inv.netns;
  if (inv.ifName !== undefined) env.CNI_IFNAME = inv.ifName;
  if (inv.args !== undefined) env.CNI_ARGS = inv.args;
  const argv = [...(inv.wrapper ?? []), binary];
  const cmd = argv[0] ?? binary;
  const pre = argv.slice(1);
  const timeoutMs = inv.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const fail = (init: Omit<ConstructorParameters<typeof CniPluginError>[0], 'plugin' | 'command'>): CniPluginError =>
    new CniPluginError({ plugin: inv.type, command: inv.command, ...init });

  return new Promise<unknown>((resolve, reject) => {
    // detached: own process group, so a timeout kills whatever the plugin started too.
    let child: PluginProcess;
    try {
      child = (inv.spawn ?? forkSpawn)(cmd, pre, { env, detached: true });
    } catch (e) {
      reject(fail({ msg: `cannot run ${binary}: ${(e as Error).message}` }));
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let settled = false;
    const settle = (f: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      f();
    };
    const timer = setTimeout(() => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
      child.stdout.destroy();
      child.stderr.destroy();
      settle(() => reject(new CniTimeoutError(inv.type, inv.command, timeoutMs)));
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {}); // a plugin may exit without reading stdin
    child.on('error', (e) => settle(() => reject(fail({ msg: `cannot run ${binary}: ${e.message}` }))));
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString('utf8').trim();
      const stderr = Buffer.concat(err).toString('utf8').trim().slice(-4000);
      settle(() => {
        if (code === 0) {
          if (!stdout) return resolve(undefined);
          try {
            resolve(JSON.parse(stdout) as unknown);
          } catch {
            reject(fail({ msg: `printed output that is not JSON: ${stdout.slice(0, 200)}`, exitCode: code, stderr }));
          }
          return;
        }
        reject(pluginFailure(stdout, stderr, code, signal, fail));
      });
    });
    child.stdin.end(JSON.stringify(inv.config));
  });
}

/** A failed plugin's error JSON ({code, msg, details}) or, lacking that, its exit status and stderr. */
function pluginFailure(
  stdout: string,
  stderr: string,
  exitCode: number | null,
  signal: NodeJS.Signals | null,
  fail: (init: { pluginCode?: number; msg: string; pluginDetails?: string; exitCode?: number | null; stderr?: string }) => CniPluginError,
): CniPluginError {
  let parsed: unknown;
  try {
    parsed = stdout ? (JSON.parse(stdout) as unknown) : undefined;
  } catch {
    parsed = undefined;
  }
  if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
    const o = parsed as Record<string, unknown>;
    if (typeof o.code === 'number' || typeof o.msg === 'string') {
      return fail({
        pluginCode: typeof o.code === 'number' ? o.code : undefined,
        msg: typeof o.msg === 'string' ? o.msg : 'no message',
        pluginDetails: typeof o.details === 'string' ? o.details : o.details === undefined ? undefined : JSON.stringify(o.details),
        exitCode,
        stderr,
      });
    }
  }
  const status = signal ? `killed by ${signal}` : `exit status ${exitCode}`;
  return fail({ msg: `${status}${stderr ? `; stderr: ${stderr}` : stdout ? `; stdout: ${stdout.slice(0, 500)}` : ''}`, exitCode, stderr });
}
