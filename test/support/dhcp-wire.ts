// A minimal DHCP client of our own (DISCOVER/REQUEST built with src/dhcp's codec, sent
// from a device-bound UDP socket made in a given netns) and a wire capture helper
// (tcpdump writes a pcap, tshark decodes it).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { closeSync, openSync } from 'node:fs';
import { BOOTREQUEST, encodeIpv4, encodeU8, MessageType, Opt, parse, serialize, type DhcpMessage } from '../../src/dhcp/index.js';
import { native } from '../../src/io/native.js';

export function macBytes(mac: string): Uint8Array {
  const c = new Uint8Array(16);
  c.set(mac.split(':').map((h) => parseInt(h, 16)));
  return c;
}

export function request(mac: string, xid: number, type: number, extra: [number, Uint8Array][] = [], ciaddr = '0.0.0.0'): Uint8Array {
  const msg: DhcpMessage = {
    op: BOOTREQUEST, htype: 1, hlen: 6, hops: 0, xid, secs: 0, flags: 0, ciaddr, yiaddr: '0.0.0.0', siaddr: '0.0.0.0', giaddr: '0.0.0.0',
    chaddr: macBytes(mac), sname: '', file: '',
    options: new Map<number, Uint8Array>([
      [Opt.MessageType, encodeU8(type)],
      ...extra,
      [Opt.ParameterRequestList, Uint8Array.of(Opt.SubnetMask, Opt.Router, Opt.DnsServers, Opt.DomainSearch, Opt.InterfaceMtu, Opt.ClasslessRoutes)],
    ]),
  };
  return serialize(msg);
}

export const discover = (mac: string, xid: number): Uint8Array => request(mac, xid, MessageType.Discover);
export const selectingRequest = (mac: string, xid: number, address: string, serverId: string): Uint8Array =>
  request(mac, xid, MessageType.Request, [[Opt.RequestedIp, encodeIpv4(address)], [Opt.ServerId, encodeIpv4(serverId)]]);

export interface Reply {
  type: number | undefined;
  xid: number;
  yiaddr: string;
  serverId: string | undefined;
  at: number;
}

/** A UDP socket bound to `dev` (SO_BINDTODEVICE) on `port` inside the netns at `nsPath`. */
export class WireClient {
  private waiters = new Map<number, (r: Reply) => void>();
  readonly replies: Reply[] = [];
  private constructor(readonly socket: Socket) {
    socket.on('message', (m) => {
      const p = parse(m);
      if (!p.ok) return;
      const t = p.message.options.get(Opt.MessageType);
      const sid = p.message.options.get(Opt.ServerId);
      const r: Reply = {
        type: t?.[0], xid: p.message.xid, yiaddr: p.message.yiaddr, at: performance.now(),
        serverId: sid && sid.length === 4 ? Array.from(sid).join('.') : undefined,
      };
      this.replies.push(r);
      const w = this.waiters.get(r.xid);
      if (w) {
        this.waiters.delete(r.xid);
        w(r);
      }
    });
    socket.on('error', () => undefined);
  }

  static async open(nsPath: string, dev: string, port: number): Promise<WireClient> {
    const nsFd = openSync(nsPath, 'r');
    let fd: number;
    try {
      fd = native.udpBound(nsFd, dev, port);
    } finally {
      closeSync(nsFd);
    }
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ fd }, () => resolve());
    });
    socket.setBroadcast(true);
    return new WireClient(socket);
  }

  send(packet: Uint8Array, to = '255.255.255.255', port = 67): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(packet, port, to, (e) => (e ? reject(e) : resolve())));
  }

  /** Sends and waits for the reply with the same xid; undefined after `ms`. */
  async exchange(packet: Uint8Array, xid: number, ms: number): Promise<Reply | undefined> {
    const got = new Promise<Reply | undefined>((resolve) => {
      const t = setTimeout(() => {
        this.waiters.delete(xid);
        resolve(undefined);
      }, ms);
      this.waiters.set(xid, (r) => {
        clearTimeout(t);
        resolve(r);
      });
    });
    await this.send(packet);
    return got;
  }

  close(): Promise<void> {
    return new Promise((r) => this.socket.close(() => r()));
  }
}

export interface CapturedFrame {
  time: number;
  ethDst: string;
  ipSrc: string;
  ipDst: string;
  /** DHCP message type (1 DISCOVER .. 8 INFORM); undefined for a non-DHCP or garbled packet. */
  type: number | undefined;
  ciaddr: string;
  broadcastFlag: boolean;
}

/** tcpdump on `dev` in netns `ns` (DHCP ports only), into `file`; resolves once listening. */
export async function startCapture(ns: string, dev: string, file: string): Promise<{ stop(): Promise<CapturedFrame[]>; proc: ChildProcess }> {
  const proc = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-i', dev, '-n', '-U', '--immediate-mode', '-w', file, 'udp port 67 or udp port 68'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`tcpdump did not start: ${err}`)), 5000);
    proc.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      if (/listening on/.test(err)) {
        clearTimeout(t);
        resolve();
      }
    });
    proc.once('exit', (c) => {
      clearTimeout(t);
      reject(new Error(`tcpdump exited ${c}: ${err}`));
    });
  });
  return {
    proc,
    async stop() {
      // Let the last frames reach the file, then stop tcpdump cleanly (it flushes on TERM).
      await new Promise((r) => setTimeout(r, 200));
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
      if (process.env.NETLET_DEBUG_CAPTURE) process.stderr.write(`tcpdump ${dev}: ${err}\n`);
      return readCapture(file);
    },
  };
}

export function readCapture(file: string): CapturedFrame[] {
  const r = spawnSync('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=|', '-e', 'frame.time_relative', '-e', 'eth.dst', '-e', 'ip.src', '-e', 'ip.dst',
    '-e', 'dhcp.option.dhcp', '-e', 'dhcp.ip.client', '-e', 'dhcp.flags.bc'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tshark failed: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean).map((l) => {
    const [time = '0', ethDst = '', ipSrc = '', ipDst = '', type = '', ciaddr = '', bc = ''] = l.split('|');
    return { time: Number(time), ethDst, ipSrc, ipDst, type: type ? Number(type.split(',')[0]) : undefined, ciaddr, broadcastFlag: bc === '1' || bc === 'True' };
  });
}
