// DHCPv6 server logic for one interface (RFC 8415 sections 16 and 18.3): serves the one
// VM behind the interface its CNI IPv6 addresses, all in one IA_NA. Pure: no sockets, no
// timers; the caller passes `now` (ms since the epoch) and sends the reply to the source
// address and port of the message it answers (RFC 8415 section 18.3.10 for Reply).
import { ipv6Network } from '../model/ipv6.js';
import { DEFAULT_RATE_LIMIT, TokenBucket, type RateLimit } from '../dhcp/ratelimit.js';
import { parse, serializedLength, type Dhcp6Message } from './codec.js';
import { renewalTimes, validateDhcp6Config, type Dhcp6ServerConfig } from './config.js';
import { duidHex } from './duid.js';
import type { Dhcp6ParseErrorReason } from './errors.js';
import {
  decodeIaNa, decodeOro, encodeDomainList, encodeIaAddr, encodeIaNa, encodeIpv6List, encodeStatus, findOption, iaAddresses,
  INFINITY, Msg6, Opt6, Status6, u32, type Dhcp6Option, type IaNa,
} from './options.js';

/** The largest reply: 1280 (IPv6 minimum MTU) less IPv6 and UDP headers, so it never fragments. */
export const MAX_REPLY_SIZE = 1280 - 40 - 8;
/** IA_NAs answered per message; further ones are ignored (a VM asks for one). */
export const MAX_IAS = 8;
/** Foreign addresses per IA returned with lifetime 0 in a Renew/Rebind Reply. */
export const MAX_WITHDRAWN = 8;
/** Advertise preference: 255 makes the client Request at once (RFC 8415 section 18.2.9); netlet is the VM's only server. */
export const ADVERTISE_PREFERENCE = 255;
/** Options dropped from a reply that would exceed MAX_REPLY_SIZE, in this order; extra IAs go after them. */
export const DROP_ORDER: readonly number[] = [Opt6.DomainList, Opt6.InformationRefreshTime, Opt6.DnsServers, Opt6.Preference];
const MAX_CONFLICTS = 16;
/** IA_PD status (RFC 8415 section 21.13): we delegate no prefixes. */
const NO_PREFIX_AVAIL = 6;

export type Dhcp6IgnoreReason =
  | 'not-a-client-message' // Advertise, Reply, Reconfigure or an unknown type
  | 'no-client-id' // section 16: every client message but Information-request needs one
  | 'server-id-present' // Solicit, Confirm, Rebind name no server (sections 16.2, 16.5, 16.7)
  | 'no-server-id' // Request, Renew, Decline, Release must name one (16.4, 16.6, 16.8, 16.9)
  | 'other-server' // ... and it is not ours (also Information-request, 16.12)
  | 'ia-in-information-request' // section 16.12
  | 'unicast' // Solicit, Confirm, Rebind, Information-request must be multicast (section 16)
  | 'confirm-without-addresses'; // section 18.3.3: no reply

export type BindVia = 'rapid-commit' | 'request' | 'renew' | 'rebind';

export type Dhcp6Event =
  | { kind: 'advertised'; addresses: string[] }
  | { kind: 'bound'; via: BindVia; addresses: string[]; expiresAt: number; withdrawn: string[] }
  | { kind: 'not-on-link'; requested: string[] }
  /** A Request/Renew/Rebind (or rapid-commit Solicit) with no IA_NA: a Reply with a status only. */
  | { kind: 'no-ia'; type: number }
  | { kind: 'confirmed'; onLink: boolean; addresses: string[] }
  | { kind: 'released'; addresses: string[] }
  | { kind: 'declined'; addresses: string[] }
  | { kind: 'informed' }
  | { kind: 'use-multicast'; type: number }
  | { kind: 'ignored'; reason: Dhcp6IgnoreReason; type: number }
  | { kind: 'malformed'; reason: Dhcp6ParseErrorReason; detail: string }
  | { kind: 'ratelimited' };

export interface Trimmed6 {
  /** Option codes left out, in the order they were dropped (3 for each extra IA_NA). */
  dropped: number[];
  fullSize: number;
  size: number;
}

export interface Handle6Result {
  reply?: Dhcp6Message;
  event: Dhcp6Event;
  trimmed?: Trimmed6;
}

/** How the message arrived: Solicit, Confirm, Rebind and Information-request must be multicast. */
export interface Arrival6 {
  unicast: boolean;
}

export interface Dhcp6Counters {
  received: number;
  advertised: number;
  /** Request, or Solicit with Rapid Commit. */
  bound: number;
  /** Renew and Rebind. */
  renewed: number;
  notOnLink: number;
  noIa: number;
  confirmed: number;
  released: number;
  declined: number;
  informed: number;
  useMulticast: number;
  ignored: number;
  malformed: number;
  ratelimited: number;
}

export type Lease6State = 'none' | 'advertised' | 'bound' | 'released' | 'declined';

export interface Lease6Status {
  addresses: string[];
  state: Lease6State;
  bound: boolean;
  /** Hex DUID and IAID of the IA the addresses are bound to. */
  clientDuid?: string;
  iaid?: number;
  boundAt?: number;
  expiresAt?: number;
  lastSeen?: number;
}

export interface Conflict6 {
  address: string;
  at: number;
  clientDuid: string;
}

export interface Dhcp6ServerStatus {
  serverDuid: string;
  counters: Dhcp6Counters;
  trimmed: { replies: number; options: number };
  lease: Lease6Status;
  conflicts: Conflict6[];
}

type CounterKey = Exclude<keyof Dhcp6Counters, 'received'>;
type Lease = Omit<Lease6Status, 'addresses' | 'bound'>;

const zeroCounters = (): Dhcp6Counters => ({
  received: 0, advertised: 0, bound: 0, renewed: 0, notOnLink: 0, noIa: 0, confirmed: 0, released: 0, declined: 0,
  informed: 0, useMulticast: 0, ignored: 0, malformed: 0, ratelimited: 0,
});

const CLIENT_TYPES: ReadonlySet<number> = new Set([
  Msg6.Solicit, Msg6.Request, Msg6.Confirm, Msg6.Renew, Msg6.Rebind, Msg6.Release, Msg6.Decline, Msg6.InformationRequest,
]);
const opt = (code: number, data: Uint8Array): Dhcp6Option => ({ code, data });
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
const statusIa = (iaid: number, status: number, extra: Dhcp6Option[] = []): Dhcp6Option =>
  opt(Opt6.IaNa, encodeIaNa({ iaid, t1: 0, t2: 0, options: [...extra, opt(Opt6.StatusCode, encodeStatus(status))] }));

export class Dhcp6Server {
  private config!: Dhcp6ServerConfig;
  private ours!: Set<string>;
  private readonly counters = zeroCounters();
  private readonly trimmed = { replies: 0, options: 0 };
  private lease: Lease = { state: 'none' };
  private conflicts: Conflict6[] = [];
  private readonly bucket: TokenBucket | undefined;

  /** Throws Dhcp6ConfigError for a config that cannot be served. `false` turns the rate limit off. */
  constructor(config: Dhcp6ServerConfig, rateLimit: RateLimit | false = DEFAULT_RATE_LIMIT) {
    this.bucket = rateLimit === false ? undefined : new TokenBucket(rateLimit);
    this.reconfigure(config);
  }

  /** Applies a new plan. Changed addresses drop the binding: the next Renew gets the new
   *  addresses and the old ones at lifetime 0, a Confirm of the old ones NotOnLink. */
  reconfigure(config: Dhcp6ServerConfig): void {
    validateDhcp6Config(config);
    const before = this.config ? [...this.ours].join(' ') : undefined;
    this.config = { ...config, addresses: config.addresses.map((a) => ({ ...a })) };
    this.ours = new Set(config.addresses.map((a) => a.address));
    if (before !== undefined && before !== [...this.ours].join(' ')) {
      this.lease = { state: 'none', ...(this.lease.lastSeen !== undefined ? { lastSeen: this.lease.lastSeen } : {}) };
    }
  }

  /** Rate limit, parse, handle one UDP payload. Never throws. */
  receive(packet: Uint8Array, now: number, arrival?: Arrival6): Handle6Result {
    this.counters.received++;
    if (this.bucket && !this.bucket.take(now)) return this.count('ratelimited', { event: { kind: 'ratelimited' } });
    const parsed = parse(packet);
    if (!parsed.ok) return this.count('malformed', { event: { kind: 'malformed', reason: parsed.error.reason, detail: parsed.error.message } });
    return this.process(parsed.message, now, arrival);
  }

  /** Same as receive() for a message parsed elsewhere. Never throws. */
  handle(msg: Dhcp6Message, now: number, arrival?: Arrival6): Handle6Result {
    this.counters.received++;
    if (this.bucket && !this.bucket.take(now)) return this.count('ratelimited', { event: { kind: 'ratelimited' } });
    return this.process(msg, now, arrival);
  }

  status(now: number): Dhcp6ServerStatus {
    const bound = this.lease.state === 'bound' && (this.lease.expiresAt === undefined || now < this.lease.expiresAt);
    return {
      serverDuid: duidHex(this.config.serverDuid),
      counters: { ...this.counters },
      trimmed: { ...this.trimmed },
      lease: { addresses: [...this.ours], bound, ...this.lease },
      conflicts: this.conflicts.map((c) => ({ ...c })),
    };
  }

  private count(key: CounterKey, result: Handle6Result): Handle6Result {
    this.counters[key]++;
    return result;
  }

  private ignore(reason: Dhcp6IgnoreReason, type: number): Handle6Result {
    return this.count('ignored', { event: { kind: 'ignored', reason, type } });
  }

  private process(msg: Dhcp6Message, now: number, arrival: Arrival6 | undefined): Handle6Result {
    const { type } = msg;
    if (!CLIENT_TYPES.has(type)) return this.ignore('not-a-client-message', type);
    this.lease.lastSeen = now;
    const clientId = findOption(msg.options, Opt6.ClientId)?.data;
    const serverId = findOption(msg.options, Opt6.ServerId)?.data;
    const unicast = arrival?.unicast === true;
    switch (type) {
      case Msg6.Solicit:
      case Msg6.Confirm:
      case Msg6.Rebind:
        if (unicast) return this.ignore('unicast', type);
        if (!clientId) return this.ignore('no-client-id', type);
        if (serverId) return this.ignore('server-id-present', type);
        break;
      case Msg6.InformationRequest:
        if (unicast) return this.ignore('unicast', type);
        if (serverId && !sameBytes(serverId, this.config.serverDuid)) return this.ignore('other-server', type);
        if (msg.options.some((o) => o.code === Opt6.IaNa || o.code === Opt6.IaTa || o.code === Opt6.IaPd)) return this.ignore('ia-in-information-request', type);
        return this.inform(msg, clientId);
      default: // Request, Renew, Decline, Release
        if (!serverId) return this.ignore('no-server-id', type);
        if (!sameBytes(serverId, this.config.serverDuid)) return this.ignore('other-server', type);
        if (!clientId) return this.ignore('no-client-id', type);
        if (unicast) {
          // Section 18.4: we never send Server Unicast, so the client must multicast.
          const reply = this.message(Msg6.Reply, msg, clientId, [opt(Opt6.StatusCode, encodeStatus(Status6.UseMulticast, 'use multicast'))]);
          return this.count('useMulticast', { reply, event: { kind: 'use-multicast', type } });
        }
    }
    const client = clientId;
    const ias = msg.options.flatMap((o) => (o.code === Opt6.IaNa ? [decodeIaNa(o.data)] : [])).filter((ia): ia is IaNa => ia !== undefined).slice(0, MAX_IAS);
    switch (type) {
      case Msg6.Solicit:
        return findOption(msg.options, Opt6.RapidCommit) && this.config.rapidCommit
          ? this.bind(msg, client, ias, now, 'rapid-commit')
          : this.advertise(msg, client, ias);
      case Msg6.Request:
        return this.bind(msg, client, ias, now, 'request');
      case Msg6.Renew:
        return this.bind(msg, client, ias, now, 'renew');
      case Msg6.Rebind:
        return this.bind(msg, client, ias, now, 'rebind');
      case Msg6.Confirm:
        return this.confirm(msg, client, ias);
      case Msg6.Release:
        return this.release(msg, client, ias);
      default:
        return this.decline(msg, client, ias, now);
    }
  }

  /** The IA our addresses go to: the bound one when the client names it, else its first IA_NA. */
  private chosenIa(client: Uint8Array, ias: IaNa[]): IaNa | undefined {
    const duid = duidHex(client);
    return ias.find((ia) => this.lease.clientDuid === duid && this.lease.iaid === ia.iaid) ?? ias[0];
  }

  /** Our addresses with full lifetimes, then `withdrawn` at lifetime 0 (sections 18.3.4/18.3.5). */
  private ourIa(iaid: number, withdrawn: string[] = []): Dhcp6Option {
    const { preferredLifetime: preferred, validLifetime: valid } = this.config;
    const { t1, t2 } = renewalTimes(preferred);
    const addrs = [
      ...this.config.addresses.map((a) => opt(Opt6.IaAddr, encodeIaAddr({ address: a.address, preferred, valid, options: [] }))),
      ...withdrawn.map((address) => opt(Opt6.IaAddr, encodeIaAddr({ address, preferred: 0, valid: 0, options: [] }))),
    ];
    return opt(Opt6.IaNa, encodeIaNa({ iaid, t1, t2, options: addrs }));
  }

  private onLink(address: string): boolean {
    return this.config.addresses.some((a) => ipv6Network(a.address, a.prefixLength) === ipv6Network(address, a.prefixLength));
  }

  private advertise(msg: Dhcp6Message, client: Uint8Array, ias: IaNa[]): Handle6Result {
    const chosen = ias[0];
    const addresses = chosen ? [...this.ours] : [];
    // Section 18.3.1: with no IA_NA to fill, an Advertise carries NoAddrsAvail and nothing else.
    const body = chosen
      ? [opt(Opt6.Preference, Uint8Array.of(ADVERTISE_PREFERENCE)), this.ourIa(chosen.iaid),
        ...ias.slice(1).map((ia) => statusIa(ia.iaid, Status6.NoAddrsAvail)), ...this.noPrefixes(msg, false), ...this.dnsOptions(msg)]
      : [opt(Opt6.StatusCode, encodeStatus(Status6.NoAddrsAvail, 'no IA_NA in the Solicit'))];
    if (chosen && this.lease.state !== 'bound') this.lease.state = 'advertised';
    return this.count('advertised', { ...this.fit(this.message(Msg6.Advertise, msg, client, body)), event: { kind: 'advertised', addresses } });
  }

  /** Request, Renew, Rebind, and Solicit with Rapid Commit: a Reply binding our addresses to one IA. */
  private bind(msg: Dhcp6Message, client: Uint8Array, ias: IaNa[], now: number, via: BindVia): Handle6Result {
    const renewing = via === 'renew' || via === 'rebind';
    const chosen = this.chosenIa(client, ias);
    const lead = via === 'rapid-commit' ? [opt(Opt6.RapidCommit, new Uint8Array(0))] : [];
    if (!chosen) {
      const body = [...lead, opt(Opt6.StatusCode, encodeStatus(renewing ? Status6.NoBinding : Status6.NoAddrsAvail, 'no IA_NA')), ...this.dnsOptions(msg)];
      return this.count('noIa', { ...this.fit(this.message(Msg6.Reply, msg, client, body)), event: { kind: 'no-ia', type: msg.type } });
    }
    const hinted = iaAddresses(chosen).map((a) => a.address);
    if (via === 'request' && hinted.some((a) => !this.onLink(a))) {
      // Section 18.3.2: an address whose prefix is not this link's gets NotOnLink in its IA.
      const body = [statusIa(chosen.iaid, Status6.NotOnLink), ...ias.filter((ia) => ia !== chosen).map((ia) => statusIa(ia.iaid, Status6.NoAddrsAvail))];
      return this.count('notOnLink', { ...this.fit(this.message(Msg6.Reply, msg, client, body)), event: { kind: 'not-on-link', requested: hinted } });
    }
    const withdrawn = renewing ? [...new Set(hinted.filter((a) => !this.ours.has(a)))].slice(0, MAX_WITHDRAWN) : [];
    const others = ias.filter((ia) => ia !== chosen).map((ia) => renewing
      ? statusIa(ia.iaid, Status6.NoBinding, zeroLifetimes(ia))
      : statusIa(ia.iaid, Status6.NoAddrsAvail));
    const valid = this.config.validLifetime;
    const expiresAt = valid === INFINITY ? Number.POSITIVE_INFINITY : now + valid * 1000;
    this.lease = { state: 'bound', clientDuid: duidHex(client), iaid: chosen.iaid, boundAt: now, expiresAt, lastSeen: now };
    const body = [...lead, this.ourIa(chosen.iaid, withdrawn), ...others, ...this.noPrefixes(msg, renewing), ...this.dnsOptions(msg)];
    return this.count(renewing ? 'renewed' : 'bound', { ...this.fit(this.message(Msg6.Reply, msg, client, body)), event: { kind: 'bound', via, addresses: [...this.ours], expiresAt, withdrawn } });
  }

  /** Section 18.3.3: Success when every address is one we serve, else NotOnLink; no addresses, no reply. */
  private confirm(msg: Dhcp6Message, client: Uint8Array, ias: IaNa[]): Handle6Result {
    const addresses = ias.flatMap((ia) => iaAddresses(ia).map((a) => a.address));
    if (addresses.length === 0) return this.ignore('confirm-without-addresses', msg.type);
    const onLink = addresses.every((a) => this.ours.has(a));
    const status = onLink ? encodeStatus(Status6.Success, 'all addresses still on link') : encodeStatus(Status6.NotOnLink, 'addresses not valid on this link');
    const reply = this.message(Msg6.Reply, msg, client, [opt(Opt6.StatusCode, status)]);
    return this.count('confirmed', { reply, event: { kind: 'confirmed', onLink, addresses } });
  }

  /** Section 18.3.7: Success; an IA that is not our binding comes back with NoBinding. */
  private release(msg: Dhcp6Message, client: Uint8Array, ias: IaNa[]): Handle6Result {
    const duid = duidHex(client);
    const mine = (ia: IaNa): boolean => this.lease.clientDuid === duid && this.lease.iaid === ia.iaid && this.lease.state !== 'none';
    const unbound = ias.filter((ia) => !mine(ia));
    const released = ias.filter(mine).flatMap((ia) => iaAddresses(ia).map((a) => a.address));
    if (unbound.length < ias.length) this.lease = { state: 'released', ...(this.lease.lastSeen !== undefined ? { lastSeen: this.lease.lastSeen } : {}) };
    const body = [opt(Opt6.StatusCode, encodeStatus(Status6.Success, 'released')), ...unbound.map((ia) => statusIa(ia.iaid, Status6.NoBinding))];
    return this.count('released', { ...this.fit(this.message(Msg6.Reply, msg, client, body)), event: { kind: 'released', addresses: released } });
  }

  /** Section 18.3.8: the client found an address in use (DAD). Recorded as a conflict. */
  private decline(msg: Dhcp6Message, client: Uint8Array, ias: IaNa[], now: number): Handle6Result {
    const duid = duidHex(client);
    const mine = (ia: IaNa): boolean => this.lease.clientDuid === duid && this.lease.iaid === ia.iaid && this.lease.state !== 'none';
    const unbound = ias.filter((ia) => !mine(ia));
    const addresses = [...new Set(ias.flatMap((ia) => iaAddresses(ia).map((a) => a.address)))];
    const conflicts = addresses.filter((a) => this.ours.has(a)).map((address) => ({ address, at: now, clientDuid: duid }));
    this.conflicts = [...this.conflicts, ...conflicts].slice(-MAX_CONFLICTS);
    if (conflicts.length > 0) this.lease = { state: 'declined', lastSeen: now };
    const body = [opt(Opt6.StatusCode, encodeStatus(Status6.Success, 'decline recorded')), ...unbound.map((ia) => statusIa(ia.iaid, Status6.NoBinding))];
    return this.count('declined', { ...this.fit(this.message(Msg6.Reply, msg, client, body)), event: { kind: 'declined', addresses } });
  }

  /** Section 18.3.6: configuration only (DNS), and the refresh time when asked. */
  private inform(msg: Dhcp6Message, client: Uint8Array | undefined): Handle6Result {
    const body = this.dnsOptions(msg);
    if (this.requested(msg).includes(Opt6.InformationRefreshTime)) body.push(opt(Opt6.InformationRefreshTime, u32(this.config.informationRefreshSeconds)));
    return this.count('informed', { ...this.fit(this.message(Msg6.Reply, msg, client, body)), event: { kind: 'informed' } });
  }

  private requested(msg: Dhcp6Message): number[] {
    const oro = findOption(msg.options, Opt6.Oro);
    return (oro && decodeOro(oro.data)) ?? [];
  }

  /** Options 23 and 24 only when the client's ORO asks for them and there is something to say. */
  private dnsOptions(msg: Dhcp6Message): Dhcp6Option[] {
    const wanted = this.requested(msg);
    const out: Dhcp6Option[] = [];
    const { nameservers, search } = this.config.dns;
    if (wanted.includes(Opt6.DnsServers) && nameservers.length > 0) out.push(opt(Opt6.DnsServers, encodeIpv6List(nameservers)));
    if (wanted.includes(Opt6.DomainList) && search.length > 0) out.push(opt(Opt6.DomainList, encodeDomainList(search)));
    return out;
  }

  /** Each IA_PD asked for comes back with NoPrefixAvail (or NoBinding when renewing): netlet delegates none. */
  private noPrefixes(msg: Dhcp6Message, renewing: boolean): Dhcp6Option[] {
    const status = renewing ? Status6.NoBinding : NO_PREFIX_AVAIL;
    return msg.options.filter((o) => o.code === Opt6.IaPd).slice(0, MAX_IAS).map((o) => {
      const head = o.data.subarray(0, 4);
      const data = new Uint8Array(12 + 6);
      data.set(head, 0);
      data.set([0, Opt6.StatusCode, 0, 2, 0, status], 12);
      return opt(Opt6.IaPd, data);
    });
  }

  private message(type: number, msg: Dhcp6Message, client: Uint8Array | undefined, body: Dhcp6Option[]): Dhcp6Message {
    const options = [opt(Opt6.ServerId, this.config.serverDuid.slice()), ...(client ? [opt(Opt6.ClientId, client.slice())] : []), ...body];
    return { type, transactionId: msg.transactionId, options };
  }

  /** Drops options (DROP_ORDER, then extra IAs from the end) until the reply fits MAX_REPLY_SIZE. */
  private fit(reply: Dhcp6Message): { reply: Dhcp6Message; trimmed?: Trimmed6 } {
    const fullSize = serializedLength(reply.options);
    if (fullSize <= MAX_REPLY_SIZE) return { reply };
    let options = reply.options;
    const dropped: number[] = [];
    const drop = (index: number): void => {
      dropped.push(options[index]!.code);
      options = options.filter((_, i) => i !== index);
    };
    for (const code of DROP_ORDER) {
      if (serializedLength(options) <= MAX_REPLY_SIZE) break;
      const i = options.findIndex((o) => o.code === code);
      if (i >= 0) drop(i);
    }
    // The first IA_NA (or IA_PD) carries the answer; later ones go from the end.
    const firstIa = options.findIndex((o) => o.code === Opt6.IaNa);
    for (let i = options.length - 1; i > firstIa && serializedLength(options) > MAX_REPLY_SIZE; i--) {
      const code = options[i]!.code;
      if (code === Opt6.IaNa || code === Opt6.IaPd) drop(i);
    }
    this.trimmed.replies++;
    this.trimmed.options += dropped.length;
    const out = { ...reply, options };
    return { reply: out, trimmed: { dropped, fullSize, size: serializedLength(options) } };
  }
}

/** An IA's addresses at lifetime 0, capped: the client stops using them. */
function zeroLifetimes(ia: IaNa): Dhcp6Option[] {
  return iaAddresses(ia).slice(0, MAX_WITHDRAWN).map((a) => opt(Opt6.IaAddr, encodeIaAddr({ address: a.address, preferred: 0, valid: 0, options: [] })));
}
