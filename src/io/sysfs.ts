// sysfs (and /dev) access with configurable roots, so the SR-IOV io runs unchanged
// against the real kernel or a fake tree in a temp dir. Paths are relative to the root.
import { constants } from 'node:fs';
import { open, readFile, readdir, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { SysError } from '../model/errors.js';

export interface WaitOptions {
  /** Give up after this long (default 5000 ms). */
  timeoutMs?: number;
  /** Poll interval (default 50 ms). */
  intervalMs?: number;
}

/** What the SR-IOV io needs from sysfs; tests wrap it with a fake kernel. */
export interface SysfsPort {
  readonly sysRoot: string;
  readonly devRoot: string;
  /** Attribute content without the trailing newline. */
  read(rel: string): Promise<string>;
  /** One write() of `value`; no O_CREAT, so a wrong path fails instead of creating a file. */
  write(rel: string, value: string): Promise<void>;
  readlink(rel: string): Promise<string>;
  exists(rel: string): Promise<boolean>;
  /** Entry names, sorted; ENOENT if the directory is absent. */
  list(rel: string): Promise<string[]>;
  waitFor(rel: string, opts?: WaitOptions): Promise<void>;
  devExists(rel: string): Promise<boolean>;
  waitForDev(rel: string, opts?: WaitOptions): Promise<void>;
}

function sysError(e: unknown, syscall: string, path: string): SysError {
  if (e instanceof SysError) return e;
  const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
  return new SysError(code, syscall, `${syscall} ${path}: ${code}`, { path });
}

/** Polls `check` until true; SysError ETIMEDOUT naming `what` when the deadline passes. */
export async function waitUntil(check: () => Promise<boolean>, what: string, opts: WaitOptions = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const intervalMs = opts.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() >= deadline) {
      throw new SysError('ETIMEDOUT', 'wait', `timed out after ${timeoutMs} ms waiting for ${what}`, { what, timeoutMs });
    }
    await delay(Math.min(intervalMs, Math.max(1, deadline - Date.now())));
  }
}

export class Sysfs implements SysfsPort {
  readonly sysRoot: string;
  readonly devRoot: string;

  constructor(opts: { sysRoot?: string; devRoot?: string } = {}) {
    this.sysRoot = opts.sysRoot ?? '/sys';
    this.devRoot = opts.devRoot ?? '/dev';
  }

  sysPath(rel: string): string {
    return join(this.sysRoot, rel);
  }

  devPath(rel: string): string {
    return join(this.devRoot, rel);
  }

  async read(rel: string): Promise<string> {
    const p = this.sysPath(rel);
    try {
      return (await readFile(p, 'utf8')).replace(/\n$/, '');
    } catch (e) {
      throw sysError(e, 'read', p);
    }
  }

  async write(rel: string, value: string): Promise<void> {
    const p = this.sysPath(rel);
    try {
      // O_TRUNC is harmless on sysfs and keeps fake trees (regular files) exact.
      const fh = await open(p, constants.O_WRONLY | constants.O_TRUNC);
      try {
        const buf = Buffer.from(value);
        // sysfs store() sees exactly one write; a short write would be a kernel refusal.
        const { bytesWritten } = await fh.write(buf, 0, buf.length, null);
        if (bytesWritten !== buf.length) throw new SysError('EIO', 'write', `short write to ${p}`, { path: p });
      } finally {
        await fh.close();
      }
    } catch (e) {
      throw sysError(e, 'write', p);
    }
  }

  async readlink(rel: string): Promise<string> {
    const p = this.sysPath(rel);
    try {
      return await readlink(p);
    } catch (e) {
      throw sysError(e, 'readlink', p);
    }
  }

  async exists(rel: string): Promise<boolean> {
    return pathExists(this.sysPath(rel));
  }

  async list(rel: string): Promise<string[]> {
    const p = this.sysPath(rel);
    try {
      return (await readdir(p)).sort();
    } catch (e) {
      throw sysError(e, 'readdir', p);
    }
  }

  async waitFor(rel: string, opts?: WaitOptions): Promise<void> {
    await waitUntil(() => this.exists(rel), this.sysPath(rel), opts);
  }

  async devExists(rel: string): Promise<boolean> {
    return pathExists(this.devPath(rel));
  }

  async waitForDev(rel: string, opts?: WaitOptions): Promise<void> {
    await waitUntil(() => this.devExists(rel), this.devPath(rel), opts);
  }
}

async function pathExists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw sysError(e, 'stat', p);
  }
}
