// A small pool of DHCP worker threads serving every veth interface of every pod.
// The pool supervises: a worker that throws or exits is replaced and its interfaces
// are served again at once (their config and sockets are kept here, on the main thread).
import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import { NetletError } from '../model/errors.js';
import { validateConfig, type DhcpServerConfig, type DhcpServerStatus, type RateLimit } from '../dhcp/index.js';
import { validateDhcp6Config } from '../dhcp6/index.js';
import { encodePlanned } from '../ra/index.js';
import { closeServeSockets, openServeSockets, type ServeSockets } from './dhcp-sockets.js';
import type { FromWorker, ServeRequest, ToWorker } from './dhcp-protocol.js';
import type { Ipv6Status } from './ipv6-status.js';

interface Slot {
  id: number;
  worker: Worker;
  keys: Set<string>;
  /** Set when we terminate it ourselves (close), so exit is not a crash. */
  closing: boolean;
  /** It has loaded and listens (its 'started'). */
  started: boolean;
}

interface Pending {
  want: 'serving' | 'stopped';
  resolve: () => void;
  reject: (e: Error) => void;
}

export interface DhcpPoolEvents {
  /** A worker died and was replaced; its interfaces are being served again. */
  restarted: [info: { worker: number; keys: string[]; cause: string }];
  /** An interface could not be served again after a restart. */
  lost: [info: { key: string; cause: string }];
  status: [info: { key: string; status: DhcpServerStatus; lastEvent?: string }];
  status6: [info: { key: string; status: Ipv6Status; lastEvent?: string }];
  /** A worker's log line for an interface; the owner logs it with its pod and interface. */
  log: [info: { key: string; level: 'warn' | 'error'; msg: string; fields: Record<string, unknown> }];
}

export interface DhcpPoolOptions {
  /** How long a worker has to confirm a serve or stop (ms). */
  serveTimeoutMs?: number;
  /** Every interface's token bucket unless its serve request names one; `false`: none. */
  rateLimit?: RateLimit | false;
}

function failedAs<T>(key: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const err = e as { code?: unknown; message?: string };
    throw new NetletError(typeof err.code === 'string' ? err.code : 'EIO', `DHCP for ${key}: ${err.message ?? String(e)}`);
  }
}

export class DhcpPool extends EventEmitter<DhcpPoolEvents> {
  private readonly slots: Slot[] = [];
  private readonly requests = new Map<string, ServeRequest>();
  private readonly owner = new Map<string, Slot>();
  private readonly statuses = new Map<string, DhcpServerStatus>();
  private readonly statuses6 = new Map<string, Ipv6Status>();
  private readonly waiting = new Map<string, Pending>();
  /** Each served key's sockets (dhcp-sockets.ts), held until it is stopped: workers read dups. */
  private readonly sockets = new Map<string, ServeSockets>();
  /** Keys whose serve failed in a worker after it was not waited for: the next one waits. */
  private readonly failed = new Set<string>();
  private nextId = 0;
  private closed = false;
  restarts = 0;

  private readonly serveTimeoutMs: number;
  /** The default token bucket for interfaces (undefined: DEFAULT_RATE_LIMIT). */
  readonly rateLimit: RateLimit | false | undefined;

  constructor(readonly size = 2, opts: DhcpPoolOptions = {}) {
    super();
    if (size < 1) throw new NetletError('INVALID_OPTION', 'dhcp.workers must be at least 1');
    this.serveTimeoutMs = opts.serveTimeoutMs ?? 5000;
    this.rateLimit = opts.rateLimit;
  }

  /**
   * Serves an interface; re-serving reconfigures. The configs are checked and the sockets
   * opened here (dhcp-sockets.ts): what can fail fails now. The worker is not waited for: the
   * sockets are bound, and what arrives waits in them until it reads (waiting for its
   * confirmation cost a setup 0.5-0.9 ms: two thread wake-ups). Should it still fail, that is
   * told as 'lost' (the interface recovers) and the next serve of the key waits for it.
   */
  async serve(request: ServeRequest): Promise<void> {
    if (this.closed) throw new NetletError('RUNTIME_CLOSED', 'the DHCP pool is closed');
    // Kept with the pool's default, so a replacement worker serves with the same limit.
    const req = request.rateLimit === undefined && this.rateLimit !== undefined ? { ...request, rateLimit: this.rateLimit } : request;
    // As a worker's failure read: "DHCP for <key>: ..." with its code.
    const fds = failedAs(req.key, () => {
      if (req.config) validateConfig(req.config);
      if (req.ipv6) {
        validateDhcp6Config(req.ipv6.dhcp6);
        encodePlanned(req.ipv6.ra);
      }
      // A re-serve opens only a family it did not serve yet.
      const had = this.sockets.get(req.key) ?? {};
      const more = openServeSockets(req.netnsPath, req.bridge, { v4: !!req.config && had.v4 === undefined, v6: !!req.ipv6 && !had.dhcp6 });
      return { ...had, ...more };
    });
    this.sockets.set(req.key, fds);
    this.requests.set(req.key, req);
    const slot = this.owner.get(req.key) ?? this.pick();
    this.owner.set(req.key, slot);
    slot.keys.add(req.key);
    const msg: ToWorker = { op: 'serve', ...req, fds };
    if (this.failed.delete(req.key)) await this.ask(slot, req.key, { ...msg, ack: true }, 'serving');
    else slot.worker.postMessage(msg);
  }

  /**
   * Serves it afresh: stopped, then served on sockets made again. A socket stays bound to the
   * bridge it was made on: after a bridge is deleted and made again the old ones hear nothing.
   */
  async rebind(request: ServeRequest): Promise<void> {
    await this.stop(request.key);
    await this.serve(request);
  }

  async stop(key: string): Promise<void> {
    this.requests.delete(key);
    this.failed.delete(key);
    const fds = this.sockets.get(key);
    this.sockets.delete(key);
    this.statuses.delete(key);
    this.statuses6.delete(key);
    const slot = this.owner.get(key);
    this.owner.delete(key);
    slot?.keys.delete(key);
    try {
      if (slot) await this.ask(slot, key, { op: 'stop', key }, 'stopped').catch(() => this.retire(slot, 'it did not confirm a stop'));
    } finally {
      // Only now: the worker has read every serve before the stop and dup'ed what it needed
      // (its messages are read in order); a worker that died never will.
      if (fds) closeServeSockets(fds);
    }
  }

  /**
   * Ends a worker that stays silent: it may yet read a serve of a stopped key and dup fds
   * whose numbers new sockets (another pod's) have by then. Its other keys go to a replacement.
   */
  private async retire(slot: Slot, cause: string): Promise<void> {
    this.replace(slot, cause);
    await slot.worker.terminate();
  }

  reconfigure(key: string, config: DhcpServerConfig): void {
    const req = this.requests.get(key);
    const slot = this.owner.get(key);
    if (!req || !slot) return;
    req.config = config;
    slot.worker.postMessage({ op: 'reconfigure', key, config } satisfies ToWorker);
  }

  /** The interface's DHCPv6 and RA status, once its worker has reported one. */
  status6(key: string): Ipv6Status | undefined {
    return this.statuses6.get(key);
  }

  isServing(key: string): boolean {
    return this.requests.has(key);
  }

  /** Every worker has loaded and listens (none is killed mid-start by a test). */
  allStarted(): boolean {
    return this.slots.every((s) => s.started);
  }

  status(key: string): DhcpServerStatus | undefined {
    return this.statuses.get(key);
  }

  get workerCount(): number {
    return this.slots.length;
  }

  /** Thread ids of the workers (for tests that kill one). */
  workers(): Worker[] {
    return this.slots.map((s) => s.worker);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.slots) s.closing = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
    for (const fds of this.sockets.values()) closeServeSockets(fds);
    this.sockets.clear();
    for (const [key, p] of this.waiting) p.reject(new NetletError('RUNTIME_CLOSED', `DHCP pool closed while serving ${key}`));
    this.waiting.clear();
  }

  /** The least loaded worker; a new one while below size. */
  private pick(): Slot {
    if (this.slots.length < this.size) {
      const s = this.spawn();
      this.slots.push(s);
      return s;
    }
    return this.slots.reduce((a, b) => (b.keys.size < a.keys.size ? b : a));
  }

  private spawn(): Slot {
    const worker = new Worker(new URL('./dhcp-worker.js', import.meta.url));
    worker.unref();
    const slot: Slot = { id: this.nextId++, worker, keys: new Set(), closing: false, started: false };
    worker.on('message', (m: FromWorker) => this.onMessage(m, slot));
    worker.on('error', (e) => this.replace(slot, `worker threw: ${e.message}`));
    worker.on('exit', (code) => this.replace(slot, `worker exited with code ${code}`));
    return slot;
  }

  private replace(slot: Slot, cause: string): void {
    const i = this.slots.indexOf(slot);
    if (slot.closing || this.closed || i < 0) return;
    slot.closing = true;
    this.restarts++;
    const fresh = this.spawn();
    this.slots.splice(i, 1, fresh);
    const keys = [...slot.keys];
    this.emit('restarted', { worker: slot.id, keys, cause });
    for (const key of keys) {
      const req = this.requests.get(key);
      const pending = this.waiting.get(key);
      if (!req) continue;
      fresh.keys.add(key);
      this.owner.set(key, fresh);
      this.waiting.delete(key);
      this.ask(fresh, key, { op: 'serve', ...req, fds: this.sockets.get(key) ?? {}, ack: true }, 'serving').then(
        () => pending?.resolve(),
        (e: Error) => {
          pending?.reject(e);
          this.emit('lost', { key, cause: e.message });
        },
      );
    }
  }

  private ask(slot: Slot, key: string, msg: ToWorker, want: 'serving' | 'stopped'): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(key);
        reject(new NetletError('DHCP_TIMEOUT', `DHCP worker did not confirm ${want} for ${key} within ${this.serveTimeoutMs} ms`));
      }, this.serveTimeoutMs);
      this.waiting.set(key, {
        want,
        resolve: () => { clearTimeout(timer); resolve(); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      slot.worker.postMessage(msg);
    });
  }

  private onMessage(m: FromWorker, from: Slot): void {
    if (m.op === 'status') {
      // A report posted before a stop may arrive after it: it belongs to no one now.
      if (!this.requests.has(m.key)) return;
      this.statuses.set(m.key, m.status);
      this.emit('status', { key: m.key, status: m.status, ...(m.lastEvent ? { lastEvent: m.lastEvent } : {}) });
      return;
    }
    if (m.op === 'status6') {
      if (!this.requests.has(m.key)) return;
      this.statuses6.set(m.key, m.status);
      this.emit('status6', { key: m.key, status: m.status, ...(m.lastEvent ? { lastEvent: m.lastEvent } : {}) });
      return;
    }
    if (m.op === 'log') {
      this.emit('log', { key: m.key, level: m.level, msg: m.msg, fields: m.fields });
      return;
    }
    if (m.op === 'started') {
      from.started = true;
      return;
    }
    // A waiter hears only its own answer: a stop's is 'stopped', a serve's 'serving' or 'failed'.
    const p = this.waiting.get(m.key);
    if (!p || (m.op !== p.want && !(m.op === 'failed' && p.want === 'serving'))) {
      // A serve not waited for failed in its worker: lost; the key's next serve waits for it.
      if (m.op === 'failed' && this.requests.has(m.key)) {
        this.failed.add(m.key);
        this.emit('lost', { key: m.key, cause: `${m.code}: ${m.message}` });
      }
      return;
    }
    this.waiting.delete(m.key);
    if (m.op === 'failed') p.reject(new NetletError(m.code, `DHCP for ${m.key}: ${m.message}`));
    else p.resolve();
  }
}
