// The bench's "Node floor" for DHCP: a worker thread with a device-bound socket on port 67,
// as netlet's DHCP workers have, answering each DISCOVER/REQUEST with a reply made in
// advance (only the xid patched): Node's per-datagram cost in a worker without netlet's
// parse, lease logic and serialisation.
import { createSocket } from 'node:dgram';
import { closeSync, openSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { native } from '../src/io/native.js';

const { netnsPath, bridge, offer, ack, to } = workerData as { netnsPath: string; bridge: string; offer: Uint8Array; ack: Uint8Array; to: string };
const nsFd = openSync(netnsPath, 'r');
const fd = native.udpBound(nsFd, bridge, 67);
closeSync(nsFd);
// As netlet's worker: replies to a dotted quad need no resolver call.
const socket = createSocket({ type: 'udp4', lookup: (address, _family, callback) => callback(null, address, 4) });
const replies = { 1: Buffer.from(offer), 3: Buffer.from(ack) } as Record<number, Buffer>;

/** Option 53 (message type) of a request, by walking its options. */
function messageType(p: Buffer): number {
  for (let at = 240; at + 1 < p.length; ) {
    const code = p[at]!;
    if (code === 255) break;
    if (code === 0) { at++; continue; }
    if (code === 53) return p[at + 2]!;
    at += 2 + p[at + 1]!;
  }
  return 0;
}

socket.on('message', (p) => {
  const r = replies[messageType(p)];
  if (!r) return;
  p.copy(r, 4, 4, 8);
  socket.send(r, 68, to);
});
socket.bind({ fd }, () => parentPort!.postMessage('ready'));
parentPort!.on('message', () => socket.close(() => parentPort!.close()));
