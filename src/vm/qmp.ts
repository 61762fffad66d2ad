// A small QMP client (QEMU Machine Protocol: JSON lines over a unix socket) and the NIC
// hot-plug a VM runtime needs with netlet: hand QEMU a TAP fd (getfd, fd as SCM_RIGHTS),
// netdev_add it, device_add a virtio-net-pci on a free pcie-root-port; and the reverse
// (device_del, wait for DEVICE_DELETED, netdev_del). Facts measured on QEMU 7.2 q35:
// ../docs/vm.md "Hot-plug over QMP".
import { connect, type Socket } from 'node:net';
import { native } from '../io/native.js';

export class QmpError extends Error {
  constructor(readonly command: string, readonly errorClass: string, desc: string) {
    super(`QMP ${command}: ${errorClass}: ${desc}`);
    this.name = 'QmpError';
  }
}

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

type Pending = { command: string; resolve: (v: unknown) => void; reject: (e: Error) => void };

export class QmpClient {
  private buf = '';
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private readonly events: QmpEvent[] = [];
  private readonly eventWaiters = new Set<() => void>();
  /** One command on the wire at a time: an fd sent with sendmsg must not overtake a queued write. */
  private chain: Promise<unknown> = Promise.resolve();
  private closed: Error | undefined;

  private constructor(private readonly sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => this.onData(d));
    sock.on('close', () => this.fail(new Error('QMP socket closed')));
    sock.on('error', (e) => this.fail(e));
  }

  /** Connects (retrying while QEMU has not made the socket yet), reads the greeting, negotiates capabilities. */
  static async connect(path: string, timeoutMs = 10_000): Promise<QmpClient> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const sock = await new Promise<Socket>((resolve, reject) => {
          const s = connect(path);
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        });
        const c = new QmpClient(sock);
        await c.greeting(Math.max(1, deadline - Date.now()));
        await c.execute('qmp_capabilities');
        return c;
      } catch (e) {
        const code = (e as { code?: string }).code;
        if ((code !== 'ENOENT' && code !== 'ECONNREFUSED') || Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  private greetingSeen = false;
  private greeting(ms: number): Promise<void> {
    return this.until(() => this.greetingSeen, ms, 'the QMP greeting');
  }

  private onData(d: string): void {
    this.buf += d;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (!line) continue;
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      if ('QMP' in msg) this.greetingSeen = true;
      else if ('event' in msg) this.events.push(msg as unknown as QmpEvent);
      else if (typeof msg.id === 'string') {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (!p) continue;
        const err = msg.error as { class?: string; desc?: string } | undefined;
        if (err) p.reject(new QmpError(p.command, err.class ?? 'GenericError', err.desc ?? 'failed'));
        else p.resolve(msg.return);
      }
      for (const w of [...this.eventWaiters]) w();
    }
  }

  private fail(e: Error): void {
    this.closed ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    for (const w of [...this.eventWaiters]) w();
  }

  private until(ok: () => boolean, ms: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (ok()) return done(resolve);
        if (this.closed) done(() => reject(this.closed!));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`QMP: ${what} not seen within ${ms} ms`))), ms);
      const done = (f: () => void): void => {
        clearTimeout(timer);
        this.eventWaiters.delete(check);
        f();
      };
      this.eventWaiters.add(check);
      check();
    });
  }

  /** Runs one command; resolves with its `return`, rejects with QmpError. `fd`: sent with it as SCM_RIGHTS. */
  execute(command: string, args?: Record<string, unknown>, fd?: number): Promise<unknown> {
    const run = async (): Promise<unknown> => {
      if (this.closed) throw this.closed;
      const id = `n${this.nextId++}`;
      const line = Buffer.from(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id })}\n`);
      const reply = new Promise<unknown>((resolve, reject) => this.pending.set(id, { command, resolve, reject }));
      if (fd === undefined) {
        await new Promise<void>((resolve, reject) => this.sock.write(line, (e) => (e ? reject(e) : resolve())));
      } else {
        // QEMU takes the fd from the message that carries the command bytes: one sendmsg for both.
        const sockFd = (this.sock as unknown as { _handle?: { fd?: number } })._handle?.fd;
        if (sockFd === undefined || sockFd < 0) throw new Error('QMP socket has no fd');
        native.sendFds(sockFd, [fd], line);
      }
      return reply;
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** The first event named `name` (matching `match`) since connect or the last take, waiting up to `ms`. */
  async waitEvent(name: string, match: (e: QmpEvent) => boolean = () => true, ms = 5000): Promise<QmpEvent> {
    const find = (): number => this.events.findIndex((e) => e.event === name && match(e));
    await this.until(() => find() >= 0, ms, `event ${name}`);
    return this.events.splice(find(), 1)[0]!;
  }

  close(): void {
    this.sock.destroy();
  }
}

export interface HotplugNic {
  /** QEMU ids: device `id`, netdev `${id}-nd`, fd name `${id}-fd`. */
  id: string;
  /** An open TAP fd; QEMU gets its own copy (the caller may close this one at once). */
  fd: number;
  mac: string;
  /** A free hot-plug slot: a `pcie-root-port` id made at boot (q35). */
  bus: string;
}

/** Hot-plugs a NIC backed by a TAP fd: getfd → netdev_add tap → device_add virtio-net-pci. Undoes what it did on failure. */
export async function hotplugNic(q: QmpClient, nic: HotplugNic): Promise<void> {
  const fdname = `${nic.id}-fd`;
  const netdev = `${nic.id}-nd`;
  await q.execute('getfd', { fdname }, nic.fd);
  try {
    // No vnet_hdr: QEMU probes the fd itself and refuses vnet_hdr= together with fd=.
    await q.execute('netdev_add', { type: 'tap', id: netdev, fd: fdname });
  } catch (e) {
    await q.execute('closefd', { fdname }).catch(() => undefined);
    throw e;
  }
  try {
    await q.execute('device_add', { driver: 'virtio-net-pci', netdev, mac: nic.mac, id: nic.id, bus: nic.bus });
  } catch (e) {
    // A failed device_add leaves the netdev.
    await q.execute('netdev_del', { id: netdev }).catch(() => undefined);
    throw e;
  }
}

/**
 * Unplugs a NIC: device_del only asks the guest; DEVICE_DELETED says it let go (a guest that
 * does not cooperate never does: `timeoutMs`). Then netdev_del; only after it may the TAP go.
 */
export async function unplugNic(q: QmpClient, id: string, timeoutMs = 10_000): Promise<void> {
  await q.execute('device_del', { id });
  await q.waitEvent('DEVICE_DELETED', (e) => e.data?.device === id, timeoutMs);
  await q.execute('netdev_del', { id: `${id}-nd` });
}
