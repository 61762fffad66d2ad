// A DHCP worker thread: serves any number of interfaces, one device-bound UDP socket
// (port 67 on the interface's bridge, made in the pod netns by the addon) each.
// Sockets keep the netns they were made in, so one thread serves every pod.
import { createSocket, type Socket } from 'node:dgram';
import { closeSync, openSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { DhcpServer, serialize } from '../dhcp/index.js';
import { native } from './native.js';
import type { FromWorker, ServeRequest, ToWorker } from './dhcp-protocol.js';

interface Served {
  server: DhcpServer;
  socket: Socket;
  statusTimer: NodeJS.Timeout | undefined;
}

const served = new Map<string, Served>();
const post = (m: FromWorker): void => parentPort!.postMessage(m);

function reportSoon(key: string, s: Served, lastEvent?: string): void {
  // Counters reach the main thread at most every 50 ms per interface, not per packet.
  if (s.statusTimer) return;
  s.statusTimer = setTimeout(() => {
    s.statusTimer = undefined;
    post({ op: 'status', key, status: s.server.status(Date.now()), ...(lastEvent ? { lastEvent } : {}) });
  }, 50);
}

async function serve(req: ServeRequest): Promise<void> {
  const old = served.get(req.key);
  if (old) {
    old.server.reconfigure(req.config);
    post({ op: 'serving', key: req.key });
    return;
  }
  const server = new DhcpServer(req.config, req.rateLimit);
  const nsFd = openSync(req.netnsPath, 'r');
  let fd: number;
  try {
    fd = native.udpBound(nsFd, req.bridge, 67);
  } finally {
    closeSync(nsFd);
  }
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ fd }, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.setBroadcast(true);
  const s: Served = { server, socket, statusTimer: undefined };
  socket.on('error', () => {
    // A send error (e.g. the bridge vanished) must not kill the thread; status shows it.
  });
  socket.on('message', (packet) => {
    const r = server.receive(packet, Date.now());
    if (r.reply && r.deliver) {
      const to = r.deliver === 'broadcast' ? '255.255.255.255' : r.deliver === 'unicast-ciaddr' ? r.reply.ciaddr : r.reply.yiaddr;
      socket.send(serialize(r.reply), 68, to);
    }
    if (r.trimmed) {
      const { dropped, maxSize, fullSize, size } = r.trimmed;
      post({ op: 'log', key: req.key, level: 'warn', msg: 'DHCP reply too large for the client: options dropped', fields: { event: r.event.kind, dropped, maxSize, fullSize, size } });
    }
    reportSoon(req.key, s, r.event.kind);
  });
  served.set(req.key, s);
  post({ op: 'serving', key: req.key });
}

function stop(key: string): void {
  const s = served.get(key);
  if (s) {
    if (s.statusTimer) clearTimeout(s.statusTimer);
    s.socket.close();
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
    served.get(m.key)?.server.reconfigure(m.config);
  }
});
