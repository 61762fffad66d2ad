// A pod network namespace held open by fd, so it stays addressable even if its
// bind mount goes away, and so calls can enter it without a path lookup.
import { closeSync, openSync } from 'node:fs';
import { SysError } from '../model/errors.js';
import { native } from './native.js';

export class NetnsHandle {
  private closed = false;
  private constructor(readonly path: string, readonly fd: number) {}

  /** Opens a netns by path (e.g. /run/netns/x or /proc/<pid>/ns/net). */
  static open(path: string): NetnsHandle {
    try {
      // Held for the pod's life: above FD_SETSIZE, where select()-based libraries never look.
      return new NetnsHandle(path, native.moveHigh(openSync(path, 'r')));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
      throw new SysError(code, 'open', `cannot open netns ${path}: ${code}${code === 'ENOENT' ? ' (is the pod sandbox gone?)' : ''}`, { path });
    }
  }

  /** The calling thread's current netns (the "host" side for this process). */
  static current(): NetnsHandle {
    return new NetnsHandle('/proc/thread-self/ns/net', native.currentNetns());
  }

  /** Runs fn synchronously with this thread inside the netns; always returns home. */
  enterSync<T>(fn: () => T): T {
    const home = native.currentNetns();
    try {
      native.setns(this.fd);
      try {
        return fn();
      } finally {
        native.setns(home);
      }
    } finally {
      closeSync(home);
    }
  }

  /** False once close() has run: the fd number may be another file's by then. */
  get isOpen(): boolean {
    return !this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}
