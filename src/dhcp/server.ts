// DHCPv4 server logic for one interface (RFC 2131 section 4.3): serves exactly one
// client MAC one fixed address. Pure: no sockets, no timers; the caller passes `now`
// (ms since the epoch) and sends the reply as `deliver` says.
import { DEFAULT_LEASE_SECONDS, INFINITE_LEASE, validateConfig, type DhcpServerConfig } from './config.js';
import { BOOTREPLY, BOOTREQUEST, BROADCAST_FLAG, ethernetMac, frozenOptions, isEthernetMac, parse, serialize, serializedLength, type DhcpMessage } from './codec.js';
import type { DhcpParseErrorReason } from './errors.js';
import {
  decodeIpv4, decodeParameterList, decodeText, decodeU8, encodeIpv4, encodeText, encodeU8, isMessageType,
  MessageType, Opt, type MessageTypeValue,
} from './options.js';
import { fitOptions, maxMessageSize } from './fit.js';
import { DEFAULT_PARAMETERS, leaseOptions, parameterOptions } from './params.js';
import { DEFAULT_RATE_LIMIT, TokenBucket, type RateLimit } from './ratelimit.js';
import { ReplyCache } from './reply-cache.js';
import { macToBytes } from '../model/ip.js';

export type RequestState = 'selecting' | 'init-reboot' | 'renewing' | 'rebinding';

/** How the I/O layer sends a reply (RFC 2131 4.1, giaddr = 0). */
export type Delivery = 'broadcast' | 'unicast-ciaddr' | 'unicast-yiaddr';

export type IgnoreReason =
  | 'not-a-request' // op is BOOTREPLY
  | 'relayed' // giaddr != 0: netlet's servers sit on the VM's own link, no relay expected
  | 'foreign-mac' // not the one client this interface serves
  | 'no-message-type' // plain BOOTP
  | 'unexpected-message-type' // OFFER/ACK/NAK or unknown types from a client
  | 'other-server'; // REQUEST/RELEASE/DECLINE naming another server id

export type DhcpEvent =
  | { kind: 'offered'; address: string }
  | { kind: 'acked'; address: string; state: RequestState; expiresAt: number }
  | { kind: 'naked'; state: RequestState | 'unknown'; requested?: string; address: string }
  | { kind: 'informed'; ciaddr: string }
  | { kind: 'released'; address: string }
  | { kind: 'declined'; address: string; message?: string }
  | { kind: 'ignored'; reason: IgnoreReason; mac?: string }
  | { kind: 'malformed'; reason: DhcpParseErrorReason | 'bad-option'; detail: string }
  | { kind: 'ratelimited' };

/** A reply whose options did not fit the client's maximum message size. */
export interface Trimmed {
  /** Option codes left out, in the order they were dropped. */
  dropped: number[];
  /** The largest message the client takes (option 57, else 576, less IP and UDP headers). */
  maxSize: number;
  /** The message size with every option, and as sent. */
  fullSize: number;
  size: number;
}

export interface HandleResult {
  reply?: DhcpMessage;
  deliver?: Delivery;
  event: DhcpEvent;
  /** Set when options were dropped from the reply to fit; the caller logs it. */
  trimmed?: Trimmed;
}

/** A reply as the socket sends it: its octets (the caller's to send, never changed after)
 *  and the IPv4 destination (port 68). */
export interface WireReply {
  bytes: Uint8Array;
  to: string;
}

/** receiveWire()'s answer: receive()'s, with the reply written. */
export interface WireResult {
  reply?: WireReply;
  event: DhcpEvent;
  trimmed?: Trimmed;
}

/** How the request arrived; only tells RENEWING (unicast) from REBINDING (broadcast). */
export interface Arrival {
  broadcast: boolean;
}

export interface DhcpCounters {
  received: number;
  offered: number;
  acked: number;
  naked: number;
  ignored: number;
  malformed: number;
  informed: number;
  released: number;
  declined: number;
  ratelimited: number;
}

export type LeaseState = 'none' | 'offered' | 'bound' | 'released' | 'declined';

export interface LeaseStatus {
  address: string;
  state: LeaseState;
  /** True while a lease is bound and not yet expired at the status time. */
  bound: boolean;
  boundAt?: number;
  expiresAt?: number;
  /** Last message from our client (any kind). */
  lastSeen?: number;
}

/** A DECLINE: the client found the address in use on the link (ARP conflict). */
export interface Conflict {
  address: string;
  at: number;
  message?: string;
}

/** Replies that had options dropped to fit, and how many options in all. Kept apart from
 *  `counters`, where each received message counts exactly once. */
export interface TrimCounters {
  replies: number;
  options: number;
}

export interface DhcpServerStatus {
  counters: DhcpCounters;
  trimmed: TrimCounters;
  lease: LeaseStatus;
  conflicts: Conflict[];
}

const MAX_CONFLICTS = 16;
const ZERO = '0.0.0.0';

const zeroCounters = (): DhcpCounters => ({
  received: 0, offered: 0, acked: 0, naked: 0, ignored: 0, malformed: 0, informed: 0, released: 0, declined: 0, ratelimited: 0,
});

/** RFC 2131 4.1 with giaddr = 0: NAK broadcast; else ciaddr; else the broadcast bit; else yiaddr. */
export function deliveryFor(request: DhcpMessage, replyType: MessageTypeValue): Delivery {
  if (replyType === MessageType.Nak) return 'broadcast';
  if (request.ciaddr !== ZERO) return 'unicast-ciaddr';
  if (request.flags & BROADCAST_FLAG) return 'broadcast';
  return 'unicast-yiaddr';
}

/** Where a reply goes, as deliveryFor said. */
export function replyDestination(reply: DhcpMessage, deliver: Delivery): string {
  return deliver === 'broadcast' ? '255.255.255.255' : deliver === 'unicast-ciaddr' ? reply.ciaddr : reply.yiaddr;
}

/** What a cached reply needs to be sent again: the first answer's event and destination. */
interface Sent {
  event: DhcpEvent;
  to: string;
  trimmed: Trimmed | undefined;
}

export class DhcpServer {
  private config!: DhcpServerConfig;
  private params!: Map<number, Uint8Array>;
  /** config.clientMac as octets. */
  private clientMac!: Uint8Array;
  private readonly counters = zeroCounters();
  private readonly trimmed: TrimCounters = { replies: 0, options: 0 };
  private lease: Omit<LeaseStatus, 'bound' | 'address'> = { state: 'none' };
  private conflicts: Conflict[] = [];
  /** Undefined when rate limiting is off. */
  private readonly bucket: TokenBucket | undefined;
  /** OFFER/ACK options by message type, lease, size limit and the client's request list. */
  private readonly replyOptions = new Map<string, { options: ReadonlyMap<number, Uint8Array>; trimmed?: Trimmed }>();
  /** Whole replies already written, by request octets (receiveWire). */
  private readonly sent = new ReplyCache<Sent>();

  /** Throws DhcpConfigError for a config that cannot be served. `false` turns the rate limit off. */
  constructor(config: DhcpServerConfig, rateLimit: RateLimit | false = DEFAULT_RATE_LIMIT) {
    this.bucket = rateLimit === false ? undefined : new TokenBucket(rateLimit);
    this.reconfigure(config);
  }

  /** Applies a new plan (e.g. the pod's IP changed). An address change drops the lease,
   *  so the client's next REQUEST for the old address is NAKed. Counters are kept. */
  reconfigure(config: DhcpServerConfig): void {
    validateConfig(config);
    const addressChanged = this.config !== undefined && this.config.address !== config.address;
    this.config = { ...config };
    this.params = parameterOptions(this.config);
    this.clientMac = macToBytes(config.clientMac);
    this.replyOptions.clear();
    this.sent.clear();
    if (addressChanged) this.lease = { state: 'none', ...(this.lease.lastSeen !== undefined ? { lastSeen: this.lease.lastSeen } : {}) };
  }

  /** Full pipeline for one UDP payload: rate limit, parse, handle. Never throws. */
  receive(packet: Uint8Array, now: number, arrival?: Arrival): HandleResult {
    this.counters.received++;
    if (this.bucket && !this.bucket.take(now)) return this.count({ event: { kind: 'ratelimited' } });
    const parsed = parse(packet);
    if (!parsed.ok) {
      return this.count({ event: { kind: 'malformed', reason: parsed.error.reason, detail: parsed.error.message } });
    }
    return this.process(parsed.message, now, arrival);
  }

  /**
   * receive() for a socket: the reply written, and where it goes. A request with the same
   * octets as one answered before but xid and secs (a client repeating its DISCOVER or
   * REQUEST) gets the reply written then with its xid, and does to the lease and counters
   * what receive() would: no parse, no options, no serialize. Never throws.
   */
  receiveWire(packet: Uint8Array, now: number, arrival?: Arrival): WireResult {
    const hit = this.sent.find(packet);
    if (hit) {
      this.counters.received++;
      if (this.bucket && !this.bucket.take(now)) return this.count({ event: { kind: 'ratelimited' } });
      this.lease.lastSeen = now;
      const { event, to, trimmed } = hit.meta;
      if (trimmed) this.countTrimmed(trimmed);
      return this.count({ reply: { bytes: this.sent.replyTo(hit, packet), to }, event: this.again(event, now, arrival), ...(trimmed ? { trimmed } : {}) });
    }
    const r = this.receive(packet, now, arrival);
    if (!r.reply || !r.deliver) return { event: r.event };
    const reply = { bytes: serialize(r.reply), to: replyDestination(r.reply, r.deliver) };
    this.sent.add(packet, reply.bytes, { event: r.event, to: reply.to, trimmed: r.trimmed });
    return { reply, event: r.event, ...(r.trimmed ? { trimmed: r.trimmed } : {}) };
  }

  /** Same as receive() for a message parsed elsewhere. Never throws. */
  handle(msg: DhcpMessage, now: number, arrival?: Arrival): HandleResult {
    this.counters.received++;
    if (this.bucket && !this.bucket.take(now)) return this.count({ event: { kind: 'ratelimited' } });
    return this.process(msg, now, arrival);
  }

  status(now: number): DhcpServerStatus {
    const bound = this.lease.state === 'bound' && (this.lease.expiresAt === undefined || now < this.lease.expiresAt);
    return {
      counters: { ...this.counters },
      trimmed: { ...this.trimmed },
      lease: { address: this.config.address, bound, ...this.lease },
      conflicts: this.conflicts.map((c) => ({ ...c })),
    };
  }

  private count<R extends { event: DhcpEvent }>(result: R): R {
    const k = result.event.kind;
    if (k === 'ignored' || k === 'malformed' || k === 'ratelimited' || k === 'offered' || k === 'acked' ||
        k === 'naked' || k === 'informed' || k === 'released' || k === 'declined') this.counters[k]++;
    return result;
  }

  private ignore(reason: IgnoreReason, mac?: string): HandleResult {
    return this.count({ event: { kind: 'ignored', reason, ...(mac ? { mac } : {}) } });
  }

  private malformed(detail: string): HandleResult {
    return this.count({ event: { kind: 'malformed', reason: 'bad-option', detail } });
  }

  private process(msg: DhcpMessage, now: number, arrival: Arrival | undefined): HandleResult {
    if (msg.op !== BOOTREQUEST) return this.ignore('not-a-request');
    if (msg.giaddr !== ZERO) return this.ignore('relayed');
    if (!isEthernetMac(msg, this.clientMac)) return this.ignore('foreign-mac', ethernetMac(msg));
    // Any packet from our client's MAC shows the VM is alive, even one we cannot serve.
    this.lease.lastSeen = now;

    const typeRaw = msg.options.get(Opt.MessageType);
    if (typeRaw === undefined) return this.ignore('no-message-type');
    const type = decodeU8(typeRaw);
    if (type === undefined) return this.malformed('option 53 (message type) is not one octet');
    const serverIdRaw = msg.options.get(Opt.ServerId);
    const serverId = serverIdRaw && decodeIpv4(serverIdRaw);
    if (serverIdRaw && !serverId) return this.malformed('option 54 (server id) is not 4 octets');
    const requestedRaw = msg.options.get(Opt.RequestedIp);
    const requested = requestedRaw && decodeIpv4(requestedRaw);
    if (requestedRaw && !requested) return this.malformed('option 50 (requested IP) is not 4 octets');
    if (!isMessageType(type)) return this.ignore('unexpected-message-type');

    const ours = serverId === undefined || serverId === this.config.serverId;
    switch (type) {
      case MessageType.Discover:
        return this.offer(msg);
      case MessageType.Request:
        if (!ours) return this.ignore('other-server');
        return this.request(msg, now, serverId !== undefined, requested, arrival);
      case MessageType.Inform:
        return this.inform(msg);
      case MessageType.Release:
        if (!ours) return this.ignore('other-server');
        return this.release(msg);
      case MessageType.Decline:
        if (!ours) return this.ignore('other-server');
        return this.decline(msg, now, requested);
      default:
        return this.ignore('unexpected-message-type');
    }
  }

  /** Answering again a request answered before (same octets but xid and secs): the lease
   *  changes as then, and the event is then's, at `now` and for this arrival. */
  private again(first: DhcpEvent, now: number, arrival: Arrival | undefined): DhcpEvent {
    switch (first.kind) {
      case 'offered':
        this.offered();
        return first;
      case 'acked':
        return { ...first, state: this.againState(first.state, arrival), expiresAt: this.bind(now) };
      case 'naked':
        this.unbind(now);
        return first.state === 'unknown' ? first : { ...first, state: this.againState(first.state, arrival) };
      default:
        return first;
    }
  }

  /** RENEWING and REBINDING differ only by how the request came (request()). */
  private againState(state: RequestState, arrival: Arrival | undefined): RequestState {
    return state === 'renewing' || state === 'rebinding' ? (arrival?.broadcast ? 'rebinding' : 'renewing') : state;
  }

  private offered(): void {
    if (this.lease.state !== 'bound') this.lease.state = 'offered';
  }

  /** Binds the lease at `now`; its expiry. */
  private bind(now: number): number {
    const lease = this.config.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
    const expiresAt = lease === INFINITE_LEASE ? Number.POSITIVE_INFINITY : now + lease * 1000;
    this.lease = { state: 'bound', boundAt: now, expiresAt, lastSeen: now };
    return expiresAt;
  }

  /** A NAK ends a bound lease. */
  private unbind(now: number): void {
    if (this.lease.state === 'bound') this.lease = { state: 'none', lastSeen: now };
  }

  private countTrimmed(trimmed: Trimmed): void {
    this.trimmed.replies++;
    this.trimmed.options += trimmed.dropped.length;
  }

  private offer(msg: DhcpMessage): HandleResult {
    const { address } = this.config;
    this.offered();
    const reply = this.reply(msg, MessageType.Offer, address, ZERO, true);
    return this.count({ ...reply, deliver: deliveryFor(msg, MessageType.Offer), event: { kind: 'offered', address } });
  }

  /** RFC 2131 4.3.2: the state follows from server id, requested IP and ciaddr. */
  private request(msg: DhcpMessage, now: number, hasServerId: boolean, requested: string | undefined, arrival?: Arrival): HandleResult {
    let state: RequestState | 'unknown';
    let wanted: string | undefined;
    if (hasServerId) { state = 'selecting'; wanted = requested ?? (msg.ciaddr !== ZERO ? msg.ciaddr : undefined); }
    else if (requested) { state = 'init-reboot'; wanted = requested; }
    else if (msg.ciaddr !== ZERO) { state = arrival?.broadcast ? 'rebinding' : 'renewing'; wanted = msg.ciaddr; }
    else { state = 'unknown'; }

    const { address } = this.config;
    if (state === 'unknown' || wanted !== address) {
      // A stale or wrong address (the pod's IP changed): NAK sends the client back to DISCOVER.
      this.unbind(now);
      const reply = this.nak(msg);
      return this.count({ reply, deliver: 'broadcast', event: { kind: 'naked', state, address, ...(wanted ? { requested: wanted } : {}) } });
    }
    const expiresAt = this.bind(now);
    const reply = this.reply(msg, MessageType.Ack, address, msg.ciaddr, true);
    return this.count({ ...reply, deliver: deliveryFor(msg, MessageType.Ack), event: { kind: 'acked', address, state, expiresAt } });
  }

  /** INFORM: the client has an address already and wants parameters; no yiaddr, no lease. */
  private inform(msg: DhcpMessage): HandleResult {
    const reply = this.reply(msg, MessageType.Ack, ZERO, msg.ciaddr, false);
    return this.count({ ...reply, deliver: deliveryFor(msg, MessageType.Ack), event: { kind: 'informed', ciaddr: msg.ciaddr } });
  }

  private release(msg: DhcpMessage): HandleResult {
    if (msg.ciaddr === this.config.address && this.lease.state !== 'none') {
      const lastSeen = this.lease.lastSeen;
      this.lease = { state: 'released', ...(lastSeen !== undefined ? { lastSeen } : {}) };
    }
    return this.count({ event: { kind: 'released', address: msg.ciaddr } });
  }

  private decline(msg: DhcpMessage, now: number, requested: string | undefined): HandleResult {
    const address = requested ?? msg.ciaddr;
    const text = msg.options.get(Opt.Message);
    const message = text ? decodeText(text) : undefined;
    this.conflicts = [...this.conflicts, { address, at: now, ...(message ? { message } : {}) }].slice(-MAX_CONFLICTS);
    if (address === this.config.address) this.lease = { state: 'declined', lastSeen: now };
    return this.count({ event: { kind: 'declined', address, ...(message ? { message } : {}) } });
  }

  private nak(msg: DhcpMessage): DhcpMessage {
    const options = new Map<number, Uint8Array>([
      [Opt.MessageType, encodeU8(MessageType.Nak)],
      [Opt.ServerId, encodeIpv4(this.config.serverId)],
      [Opt.Message, encodeText(`address not valid for this client; use ${this.config.address}`)],
    ]);
    return this.header(msg, ZERO, ZERO, options);
  }

  /** OFFER/ACK: required options first, then the requested ones in the client's order,
   *  less what does not fit the client's maximum message size. */
  private reply(msg: DhcpMessage, type: MessageTypeValue, yiaddr: string, ciaddr: string, withLease: boolean): { reply: DhcpMessage; trimmed?: Trimmed } {
    // One client asks the same way every time: its replies' options are made once (and
    // written once, see frozenOptions) until the plan changes.
    const prl = msg.options.get(Opt.ParameterRequestList);
    const maxSize = maxMessageSize(msg);
    const key = `${type}|${withLease ? 1 : 0}|${maxSize}|${prl ? `p${String.fromCharCode(...prl)}` : '-'}`;
    let made = this.replyOptions.get(key);
    if (!made) {
      made = this.replyOptionsFor(type, withLease, prl, maxSize);
      if (this.replyOptions.size >= 32) this.replyOptions.clear();
      this.replyOptions.set(key, made);
    }
    const reply = this.header(msg, yiaddr, ciaddr, made.options as Map<number, Uint8Array>);
    if (!made.trimmed) return { reply };
    this.countTrimmed(made.trimmed);
    return { reply, trimmed: made.trimmed };
  }

  private replyOptionsFor(type: MessageTypeValue, withLease: boolean, prl: Uint8Array | undefined, maxSize: number): { options: ReadonlyMap<number, Uint8Array>; trimmed?: Trimmed } {
    const options = new Map<number, Uint8Array>([
      [Opt.MessageType, encodeU8(type)],
      [Opt.ServerId, encodeIpv4(this.config.serverId)],
    ]);
    if (withLease) for (const [code, value] of leaseOptions(this.config.leaseSeconds)) options.set(code, value);
    const wanted = prl ? decodeParameterList(prl) : DEFAULT_PARAMETERS;
    const classless = wanted.includes(Opt.ClasslessRoutes) && this.params.has(Opt.ClasslessRoutes);
    for (const code of wanted) {
      // RFC 3442: a client taking 121 must ignore option 3, so it is not sent alongside.
      if (code === Opt.Router && classless) continue;
      const value = this.params.get(code);
      if (value && !options.has(code)) options.set(code, value);
    }
    const fit = fitOptions(options, maxSize, this.params.get(Opt.Router));
    const frozen = frozenOptions(fit.options);
    if (fit.dropped.length === 0) return { options: frozen };
    return { options: frozen, trimmed: { dropped: fit.dropped, maxSize, fullSize: serializedLength(options), size: fit.size } };
  }

  private header(msg: DhcpMessage, yiaddr: string, ciaddr: string, options: Map<number, Uint8Array>): DhcpMessage {
    return {
      op: BOOTREPLY, htype: msg.htype, hlen: msg.hlen, hops: 0, xid: msg.xid, secs: 0, flags: msg.flags,
      ciaddr, yiaddr, siaddr: ZERO, giaddr: ZERO, chaddr: msg.chaddr.slice(0, 16), sname: '', file: '', options,
    };
  }
}
