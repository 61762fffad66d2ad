// A DHCP worker thread: serves any number of interfaces, each with a device-bound UDP
// socket (port 67 on the interface's bridge, made in the pod netns: dhcp-sockets.ts) when it
// has IPv4, and its IPv6 service (DHCPv6 + RAs, ipv6-serve.ts) when it has IPv6.
// Sockets keep the netns they were made in, so one thread serves every pod.
import { createSocket, type Socket } from 'node:dgram';
import { parentPort } from 'node:worker_threads';
import { DhcpServer } from '../dhcp/index.js';
import { Ipv6Service } from './ipv6-serve.js';
import { closeServeSockets, dupServeSockets, type ServeSockets, type Socket6 } from './dhcp-sockets.js';
import type { FromWorker, ServeMessage, ServeRequest, ToWorker } from './dhcp-protocol.js';

interface Served {
  server: DhcpServer | undefined;
  socket: Socket | undefined;
  v6: Ipv6Service | undefined;
  statusTimer: NodeJS.Timeout | undefined;
  status6Timer: NodeJS.Timeout | undefined;
}

const served = new Map<string, Served>();
const post = (m: FromWorker): void => parentPort!.postMessage(m);

function reportSoon(key: string, s: Served, lastEvent?: string): void {
  // Counters reach the main thread at most every 50 ms per interface, not per packet.
  if (s.statusTimer) return;
  s.statusTimer = setTimeout(() => {
    s.statusTimer = undefined;
    if (s.server) post({ op: 'status', key, status: s.server.status(Date.now()), ...(lastEvent ? { lastEvent } : {}) });
  }, 50);
}

function report6Soon(key: string, s: Served, lastEvent: string): void {
  if (s.status6Timer) return;
  s.status6Timer = setTimeout(() => {
    s.status6Timer = undefined;
    if (s.v6) post({ op: 'status6', key, status: s.v6.status(Date.now()), lastEvent });
  }, 50);
}

/** IPv6 service on `socks`, which it owns from here, started or not. */
function startV6(req: ServeRequest, s: Served, socks: { dhcp6: Socket6; rs: Socket6 }): void {
  let v6: Ipv6Service;
  try {
    v6 = new Ipv6Service(req.ipv6!, req.rateLimit, {
      changed: (ev) => report6Soon(req.key, s, ev),
      log: (level, msg, fields) => post({ op: 'log', key: req.key, level, msg, fields }),
    });
  } catch (e) {
    closeServeSockets(socks);
    throw e;
  }
  v6.start(socks);
  s.v6 = v6;
}

/**
 * Serves an interface on dups of the sockets the pool holds, or reconfigures one served
 * already; a family it does not serve yet starts on a dup of the socket the pool added.
 * Confirms only when asked: the pool waits for nothing else; a failure is always told.
 */
async function serve(m: ServeMessage): Promise<void> {
  const { fds, ack, ...req } = m;
  const old = served.get(req.key);
  const s: Served = old ?? { server: undefined, socket: undefined, v6: undefined, statusTimer: undefined, status6Timer: undefined };
  // Known before anything is awaited: a stop that comes meanwhile finds it and closes it.
  served.set(req.key, s);
  if (req.config && s.server) s.server.reconfigure(req.config);
  if (req.ipv6 && s.v6) s.v6.reconfigure(req.ipv6);
  const v4 = !!req.config && !s.server;
  const v6 = !!req.ipv6 && !s.v6;
  let socks: ServeSockets = {};
  try {
    // Dups of what starts now only (the pool may hold a family it no longer asks for).
    socks = dupServeSockets({ ...(v4 ? { v4: fds.v4 } : {}), ...(v6 ? { dhcp6: fds.dhcp6, rs: fds.rs } : {}) });
    // Both started before anything is awaited.
    let bound: Promise<void> | undefined;
    if (v4) {
      const { v4: fd, ...rest } = socks;
      socks = rest;
      bound = startV4(req, s, fd!);
    }
    if (v6) {
      const own = { dhcp6: socks.dhcp6!, rs: socks.rs! };
      socks = {};
      startV6(req, s, own);
    }
    await bound;
  } catch (e) {
    closeServeSockets(socks);
    // A first serve that failed leaves nothing; a re-serve keeps what already served.
    if (!old) {
      s.socket?.close();
      s.v6?.close();
      if (served.get(req.key) === s) served.delete(req.key);
    }
    throw e;
  }
  if (ack) post({ op: 'serving', key: req.key });
}

/** Replies go to dotted quads only: no resolver call (dgram's default defers each send to
 *  the next tick through dns.lookup). */
const literalAddress = (address: string, _family: unknown, callback: (err: null, address: string, family: number) => void): void => callback(null, address, 4);

/** DHCPv4 on `fd`, owned from the call on (by the socket, or closed here on a throw); resolves once bound. */
function startV4(req: ServeRequest, s: Served, fd: number): Promise<void> {
  let server: DhcpServer;
  try {
    server = new DhcpServer(req.config!, req.rateLimit);
  } catch (e) {
    closeServeSockets({ v4: fd });
    throw e;
  }
  const socket = createSocket({ type: 'udp4', lookup: literalAddress });
  s.server = server;
  s.socket = socket;
  // A send error (e.g. the bridge vanished) must not kill the thread; status shows it.
  socket.on('error', () => undefined);
  socket.on('message', (packet) => {
    const r = server.receiveWire(packet, Date.now());
    if (r.reply) socket.send(r.reply.bytes, 68, r.reply.to);
    if (r.trimmed) {
      const { dropped, maxSize, fullSize, size } = r.trimmed;
      post({ op: 'log', key: req.key, level: 'warn', msg: 'DHCP reply too large for the client: options dropped', fields: { event: r.event.kind, dropped, maxSize, fullSize, size } });
    }
    reportSoon(req.key, s, r.event.kind);
  });
  // With an fd, bind opens it into the socket's handle at once; stopped meanwhile, it closes.
  const bound = new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('close', resolve);
    try {
      socket.bind({ fd }, () => {
        socket.off('error', reject);
        resolve();
      });
    } catch (e) {
      // bind throws only before the handle took the fd (not a UDP socket, open failed).
      closeServeSockets({ v4: fd });
      throw e;
    }
  });
  return bound.then(() => {
    if (served.get(req.key) === s) socket.setBroadcast(true);
  });
}

function stop(key: string): void {
  const s = served.get(key);
  if (s) {
    if (s.statusTimer) clearTimeout(s.statusTimer);
    if (s.status6Timer) clearTimeout(s.status6Timer);
    s.socket?.close();
    s.v6?.close();
    served.delete(key);
  }
  post({ op: 'stopped', key });
}

parentPort!.on('message', (m: ToWorker) => {
  if (m.op === 'serve') {
    serve(m).catch((e: unknown) => {
      const err = e as { code?: string; message?: string };
      post({ op: 'failed', key: m.key, code: err.code ?? 'EIO', message: err.message ?? String(e) });
    });
  } else if (m.op === 'stop') {
    stop(m.key);
  } else if (m.op === 'reconfigure') {
    served.get(m.key)?.server?.reconfigure(m.config);
  } else if (m.op === 'reconfigure6') {
    served.get(m.key)?.v6?.reconfigure(m.ipv6);
  }
});
// Loaded and listening: a pool may now kill this thread without catching it mid-start.
post({ op: 'started' });
