// One interface's IPv6 service, run in a DHCP worker thread next to its DHCPv4 server:
// DHCPv6 on a UDP socket [::]:547 and Router Advertisements on a raw ICMPv6 socket, both
// made in the pod netns by the addon, bound to the bridge and read on this thread's event
// loop (native.watch6). RAs go to ff02::1 from the bridge's link-local: at start (three,
// RFC 4861 6.2.4), every ~200 s with jitter (MaxRtrAdvInterval 600 s bounds it), and in
// answer to a Router Solicitation, at most one per 3 s (MIN_DELAY_BETWEEN_RAS, 6.2.6).
import { TokenBucket, DEFAULT_RATE_LIMIT, type RateLimit } from '../dhcp/index.js';
import { Dhcp6Server, serialize, type Handle6Result } from '../dhcp6/index.js';
import { encodePlanned, parseRouterSolicitation, type RouterAdvertisement } from '../ra/index.js';
import { native } from './native.js';
import type { Ipv6Serve } from './dhcp-protocol.js';
import { closeServeSockets, type Socket6 } from './dhcp-sockets.js';
import type { Ipv6Status, RaStatus } from './ipv6-status.js';

export const INITIAL_RAS = 3;
export const INITIAL_INTERVAL_MS = 4_000;
export const PERIOD_MS = 200_000;
export const MIN_DELAY_BETWEEN_RAS_MS = 3_000;
const ALL_NODES = 'ff02::1';

export interface Ipv6ServiceHooks {
  /** Something changed: report the status (the caller coalesces). */
  changed(lastEvent: string): void;
  log(level: 'warn' | 'error', msg: string, fields: Record<string, unknown>): void;
}

/** Periodic interval: 200 s ± 25 % (RFC 4861 6.2.4 asks for a random interval). */
const jittered = (): number => PERIOD_MS * (0.75 + Math.random() * 0.5);

function raSummary(ra: RouterAdvertisement, dropped?: string[]): Omit<RaStatus, 'sent' | 'sendErrors' | 'solicitations' | 'solicited' | 'malformed' | 'ratelimited'> {
  return {
    routerLifetime: ra.routerLifetime,
    prefixes: ra.prefixes.map((p) => `${p.prefix}/${p.prefixLength}`),
    routes: ra.routes.map((r) => `${r.prefix}/${r.prefixLength}`),
    rdnss: ra.rdnss.flatMap((r) => r.servers),
    ...(ra.mtu !== undefined ? { mtu: ra.mtu } : {}),
    ...(dropped?.length ? { dropped } : {}),
  };
}

export class Ipv6Service {
  private readonly dhcp6: Dhcp6Server;
  private readonly rsBucket: TokenBucket | undefined;
  private ra: Uint8Array;
  private raStatus: RaStatus;
  private readonly socks: { fd: number; ifindex: number }[] = [];
  private readonly watchers: { close(): void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private pending: NodeJS.Timeout | undefined;
  private lastSent = 0;
  private closed = false;

  constructor(private req: Ipv6Serve, rateLimit: RateLimit | false | undefined, private readonly hooks: Ipv6ServiceHooks) {
    this.dhcp6 = new Dhcp6Server(req.dhcp6, rateLimit ?? DEFAULT_RATE_LIMIT);
    this.rsBucket = rateLimit === false ? undefined : new TokenBucket(rateLimit ?? DEFAULT_RATE_LIMIT);
    this.ra = encodePlanned(req.ra);
    this.raStatus = { sent: 0, sendErrors: 0, solicitations: 0, solicited: 0, malformed: 0, ratelimited: 0, ...raSummary(req.ra, req.raDropped) };
  }

  /** Reads both sockets (dhcp-sockets.ts; closed with this service) and sends the first RA. */
  start(socks: { dhcp6: Socket6; rs: Socket6 }): void {
    const { dhcp6: d, rs: r } = socks;
    this.socks.push(d, r);
    try {
      this.watchers.push(native.watch6(d.fd, (data, source, destination, _hops, port) => this.onDhcp6(d, data, source, destination, port)));
      this.watchers.push(native.watch6(r.fd, (data, source, destination, hops) => this.onRs(data, source, destination, hops)));
    } catch (e) {
      // A watch closes its own fd; the socket not watched yet is closed here.
      const unwatched = this.watchers.length === 0 ? { dhcp6: d, rs: r } : { rs: r };
      this.close();
      closeServeSockets(unwatched);
      throw e;
    }
    let initial = 1;
    this.sendRa('initial');
    const next = (): void => {
      this.timer = setTimeout(() => {
        this.sendRa(initial < INITIAL_RAS ? 'initial' : 'periodic');
        initial++;
        next();
      }, initial < INITIAL_RAS ? INITIAL_INTERVAL_MS : jittered());
    };
    next();
  }

  reconfigure(req: Ipv6Serve): void {
    this.req = req;
    this.dhcp6.reconfigure(req.dhcp6);
    this.ra = encodePlanned(req.ra);
    this.raStatus = { ...this.raStatus, ...raSummary(req.ra, req.raDropped) };
    if (!req.raDropped?.length) delete this.raStatus.dropped;
    // A changed plan is announced at once (RFC 4861 6.2.4).
    this.sendRa('reconfigured');
  }

  status(now: number): Ipv6Status {
    return { dhcp6: this.dhcp6.status(now), ra: { ...this.raStatus } };
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.pending) clearTimeout(this.pending);
    for (const w of this.watchers.splice(0)) w.close();
    this.socks.length = 0;
  }

  private get rsSock(): { fd: number; ifindex: number } | undefined {
    return this.socks[1];
  }

  private onDhcp6(sock: { fd: number; ifindex: number }, data: Buffer, source: string, destination: string, port: number): void {
    // IPV6_PKTINFO gives the destination: anything but ff02::1:2 came unicast (RFC 8415 16).
    const r: Handle6Result = this.dhcp6.receive(data, Date.now(), { unicast: !destination.startsWith('ff') });
    if (r.reply) {
      try {
        if (native.send6(sock.fd, serialize(r.reply), source, port, sock.ifindex) < 0) this.hooks.log('warn', 'DHCPv6 reply dropped: socket buffer full', { to: source });
      } catch (e) {
        this.hooks.log('warn', 'DHCPv6 reply not sent', { to: source, err: (e as Error).message });
      }
    }
    if (r.trimmed) this.hooks.log('warn', 'DHCPv6 reply too large: options dropped', { event: r.event.kind, ...r.trimmed });
    this.hooks.changed(`dhcp6:${r.event.kind}`);
  }

  private onRs(data: Buffer, source: string, _destination: string, hopLimit: number): void {
    const s = this.raStatus;
    s.solicitations++;
    if (this.rsBucket && !this.rsBucket.take(Date.now())) {
      s.ratelimited++;
      this.hooks.changed('ra:ratelimited');
      return;
    }
    const rs = parseRouterSolicitation(data, { ...(hopLimit >= 0 ? { hopLimit } : {}), sourceUnspecified: source === '::' });
    if (!rs.ok) {
      s.malformed++;
      s.lastMalformed = rs.error.reason;
      this.hooks.changed('ra:malformed');
      return;
    }
    s.solicited++;
    // Multicast answer, coalesced: at most one RA per MIN_DELAY_BETWEEN_RAS.
    if (this.pending) return;
    const wait = Math.max(0, this.lastSent + MIN_DELAY_BETWEEN_RAS_MS - Date.now());
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.sendRa('solicited');
    }, wait);
  }

  private sendRa(why: string): void {
    const sock = this.rsSock;
    if (this.closed || !sock) return;
    try {
      if (native.send6(sock.fd, this.ra, ALL_NODES, 0, sock.ifindex) < 0) throw new Error('socket buffer full');
      this.raStatus.sent++;
      this.raStatus.lastSentAt = Date.now();
      this.lastSent = Date.now();
    } catch (e) {
      this.raStatus.sendErrors++;
      this.hooks.log('warn', 'RA not sent', { why, err: (e as Error).message });
    }
    this.hooks.changed(`ra:${why}`);
  }
}
