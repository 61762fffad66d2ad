// Starting a program without fork(). Node's child_process forks (libuv): every page of
// this process, the DHCP workers' heaps included, turns copy-on-write until written again,
// and each first write costs a page fault (16 µs a page on these VMs: touching 200 MiB took
// 850 ms after a spawn instead of 1.9; a pod's nft apply 8.4 ms instead of 1.4). The addon's
// spawnPiped uses posix_spawn (clone with CLONE_VM|CLONE_VFORK): nothing is copied. What it
// returns is what a CNI plugin run uses of a ChildProcess.
import { EventEmitter } from 'node:events';
import { Socket } from 'node:net';
import { native } from './native.js';
import type { PluginProcess, PluginSpawn } from '../cni/exec.js';

class NoForkChild extends EventEmitter<{ close: [code: number | null, signal: NodeJS.Signals | null]; error: [err: Error] }> implements PluginProcess {
  readonly pid: number;
  readonly stdin: Socket;
  readonly stdout: Socket;
  readonly stderr: Socket;

  /** detached: its own process group (so a kill of -pid reaches what it started). */
  constructor(cmd: string, args: readonly string[], opts: Parameters<PluginSpawn>[2]) {
    super();
    const env = Object.entries(opts.env).map(([k, v]) => `${k}=${v}`);
    const p = native.spawnPiped(cmd, [cmd, ...args], env, opts.detached);
    this.pid = p.pid;
    this.stdin = new Socket({ fd: p.stdin, readable: false, writable: true });
    this.stdout = new Socket({ fd: p.stdout, readable: true, writable: false });
    this.stderr = new Socket({ fd: p.stderr, readable: true, writable: false });
    // 'close' once the process has exited and both its outputs have ended, as with a ChildProcess.
    let open = 3;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const settle = (): void => {
      if (--open === 0) this.emit('close', exit!.code, exit!.signal);
    };
    this.stdout.on('close', settle);
    this.stderr.on('close', settle);
    native.waitExit(p.pidfd).then(
      (r) => {
        exit = { code: r.code, signal: r.signal as NodeJS.Signals | null };
        settle();
      },
      (e: Error) => this.emit('error', e),
    );
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    try {
      process.kill(this.pid, signal);
      return true;
    } catch {
      return false;
    }
  }
}

/** Starts cmd (looked up in PATH) with args; a failure to start throws (ENOENT, EACCES: typed). */
export const spawnNoFork: PluginSpawn = (cmd, args, opts) => new NoForkChild(cmd, args, opts);
