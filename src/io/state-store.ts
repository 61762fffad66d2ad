// Durable per-pod records: one JSON file per pod in the state dir, written as temp file +
// rename, so a crash leaves the old or the new record, never a torn one. `sync` adds the
// fsyncs that make a write outlive a power loss: only what outlives a reboot needs them
// (a reboot takes every netns and link with it; CNI's IPAM allocations stay).
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { NetletError } from '../model/errors.js';

const safe = (podId: string): string => encodeURIComponent(podId).replace(/\./g, '%2E');

export class StateStore {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  private path(podId: string): string {
    return join(this.dir, `pod-${safe(podId)}.json`);
  }

  write(podId: string, record: unknown, opts: { sync?: boolean } = {}): void {
    const sync = opts.sync ?? true;
    const final = this.path(podId);
    const tmp = `${final}.tmp-${process.pid}`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(record, null, 1));
      if (sync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, final);
    if (!sync) return;
    const d = openSync(this.dir, 'r');
    try {
      fsyncSync(d);
    } finally {
      closeSync(d);
    }
  }

  read<T>(podId: string): T | undefined {
    try {
      return JSON.parse(readFileSync(this.path(podId), 'utf8')) as T;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new NetletError('STATE_CORRUPT', `state record of pod ${podId} is unreadable: ${(e as Error).message}`, { path: this.path(podId) });
    }
  }

  remove(podId: string): void {
    rmSync(this.path(podId), { force: true });
  }

  /** Every record; a torn temp file from a crash is removed. */
  all<T>(): T[] {
    const out: T[] = [];
    for (const f of readdirSync(this.dir).sort()) {
      if (f.includes('.tmp-')) {
        rmSync(join(this.dir, f), { force: true });
        continue;
      }
      if (!f.startsWith('pod-') || !f.endsWith('.json')) continue;
      out.push(JSON.parse(readFileSync(join(this.dir, f), 'utf8')) as T);
    }
    return out;
  }
}
