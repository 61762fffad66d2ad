// Normalises CNI results (0.3.0 - 1.1.0) into netlet's InterfacePlan[].
// Rules (see docs/cni.md): family from the address, never `ips[].version`;
// IPs without a valid `interface` index go to the requested ifname; only pod-side
// interfaces (with `sandbox`) become plan interfaces; routes without `gw` go via
// the gateway of the interface's same-family IP; host routes to a gateway are on-link
// and come before the routes using that gateway. Masks are never widened.
import type { Dns, InterfacePlan, IpConfig, IpFamily, Route } from '../model/plan.js';
import { familyOf, ipv6Bytes, normaliseMac, inSubnet, parseCidr } from '../model/ip.js';
import { NetletError } from '../model/errors.js';
import { CniResultInvalidError, CniVersionMissingError, CniVersionUnsupportedError } from './errors.js';
import { SUPPORTED_VERSIONS, isSupportedVersion, type CniVersion } from './version.js';
import { resultSchema, type RawCniResult } from './result-schema.js';
import { describeValue, formatPath, jsonType, valueAt } from './json-path.js';

/** What the caller asked CNI for: the network and the CNI_IFNAME of the request. */
export interface ResultContext {
  network: string;
  ifName: string;
}

export interface NormalisedResult {
  cniVersion: CniVersion;
  interfaces: InterfacePlan[];
  /** The result's DNS (also copied onto each interface). */
  dns: Dns;
  /** Things netlet left out of the plan (e.g. an IP on a host-side interface), for the caller to log. */
  notes: string[];
}

/** Parses a CNI result (object or JSON text) into plan interfaces. Throws only CNI NetletErrors. */
export function parseCniResult(input: unknown, ctx: ResultContext): InterfacePlan[] {
  return normaliseCniResult(input, ctx).interfaces;
}

export function normaliseCniResult(input: unknown, ctx: ResultContext): NormalisedResult {
  try {
    return normalise(input, ctx);
  } catch (e) {
    if (e instanceof NetletError) throw e;
    // Safety net: the contract is "typed errors only". `internal` marks a netlet bug.
    throw new CniResultInvalidError(`CNI result could not be normalised: ${String(e)}`, { internal: true }, { cause: e });
  }
}

/** Checks the version and shape of a result; returns it typed. Throws only CNI NetletErrors. */
export function validateCniResult(input: unknown, what = 'CNI result'): RawCniResult & { cniVersion: CniVersion } {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input) as unknown;
    } catch (e) {
      throw new CniResultInvalidError(`${what} is not valid JSON: ${(e as Error).message}`, { found: describeValue(input) });
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new CniResultInvalidError(`${what} must be a JSON object, found ${jsonType(value)}`, { found: describeValue(value) });
  }
  const version = (value as Record<string, unknown>).cniVersion;
  if (version === undefined || version === null || version === '') throw new CniVersionMissingError(what);
  if (typeof version !== 'string') {
    throw new CniResultInvalidError(`${what} is invalid at cniVersion: expected a string like "1.0.0", found ${describeValue(version)}`, {
      path: 'cniVersion',
    });
  }
  if (!isSupportedVersion(version)) throw new CniVersionUnsupportedError(what, version, SUPPORTED_VERSIONS);
  const parsed = resultSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path ?? [];
    const at = formatPath(path);
    throw new CniResultInvalidError(
      `${what} (cniVersion ${version}) is invalid at ${at}: ${issue?.message ?? 'invalid'}, found ${describeValue(valueAt(value, path))}`,
      { path: at, cniVersion: version },
    );
  }
  const r = parsed.data;
  const bad = (path: PropertyKey[], need: string): never => {
    throw new CniResultInvalidError(
      `${what} (cniVersion ${version}) is invalid at ${formatPath(path)}: ${need}, found ${describeValue(valueAt(value, path))}`,
      { path: formatPath(path), cniVersion: version },
    );
  };
  r.ips?.forEach((ip, i) => {
    if (ip.gateway && familyOf(ip.gateway) !== parseCidr(ip.address)?.family) bad(['ips', i, 'gateway'], 'expected a gateway of the address family');
  });
  r.routes?.forEach((rt, i) => {
    if (rt.gw && familyOf(rt.gw) !== parseCidr(rt.dst)?.family) bad(['routes', i, 'gw'], 'expected a gateway of the dst family');
  });
  return { ...r, cniVersion: version };
}

export const sameIp = (a: string, b: string): boolean => {
  const f = familyOf(a);
  if (!f || f !== familyOf(b)) return false;
  return f === 4 ? a === b : ipv6Bytes(a).join(',') === ipv6Bytes(b).join(',');
};

/** True when dst is the host route (/32 or /128) to `gateway`. */
export const isHostRouteTo = (dst: string, gateway: string): boolean => {
  const c = parseCidr(dst);
  return !!c && c.prefixLength === (c.family === 4 ? 32 : 128) && sameIp(c.address, gateway);
};

const toDns = (d: RawCniResult['dns']): Dns => ({
  nameservers: [...(d?.nameservers ?? [])],
  ...(d?.domain ? { domain: d.domain } : {}),
  search: [...(d?.search ?? [])],
  options: [...(d?.options ?? [])],
});

function normalise(input: unknown, ctx: ResultContext): NormalisedResult {
  const r = validateCniResult(input);
  const notes: string[] = [];
  const dns = toDns(r.dns);
  const rawIfaces = r.interfaces ?? [];
  // Pod-side interfaces carry `sandbox`. A plugin that sets no sandbox at all gets
  // its interface named like the request counted as pod-side.
  const anySandbox = rawIfaces.some((i) => !!i.sandbox);
  const podSide = (i: (typeof rawIfaces)[number]): boolean => (anySandbox ? !!i.sandbox : i.name === ctx.ifName);

  const plans = new Map<number, InterfacePlan>(); // by index in `interfaces`
  const planList: InterfacePlan[] = [];
  const newPlan = (name: string): InterfacePlan => ({ name, network: ctx.network, ips: [], routes: [], dns: cloneDns(dns) });
  rawIfaces.forEach((raw, idx) => {
    if (!podSide(raw)) return;
    const p = newPlan(raw.name);
    const m = raw.mac ? normaliseMac(raw.mac) : undefined;
    if (m) p.mac = m;
    if (raw.mtu) p.mtu = raw.mtu;
    if (raw.sandbox) p.sandbox = raw.sandbox;
    if (raw.pciID) p.pciID = raw.pciID;
    if (raw.socketPath) p.socketPath = raw.socketPath;
    plans.set(idx, p);
    planList.push(p);
  });
  // The interface named by the request: IPs without a usable index belong to it.
  const requested = (): InterfacePlan => {
    let p = planList.find((x) => x.name === ctx.ifName);
    if (!p) {
      p = newPlan(ctx.ifName);
      planList.push(p);
    }
    return p;
  };

  (r.ips ?? []).forEach((ip, i) => {
    const c = parseCidr(ip.address)!; // validated
    const cfg: IpConfig = { address: c.address, prefixLength: c.prefixLength, family: c.family };
    if (ip.gateway) cfg.gateway = ip.gateway;
    const idx = ip.interface;
    let target: InterfacePlan | undefined;
    if (idx === undefined || idx === null || idx >= rawIfaces.length) target = requested();
    else target = plans.get(idx);
    if (!target) {
      notes.push(`ips[${i}] ${ip.address} is on host-side interface ${rawIfaces[idx!]?.name}; not part of the pod plan`);
      return;
    }
    target.ips.push(cfg);
  });

  (r.routes ?? []).forEach((rt) => {
    const family = parseCidr(rt.dst)!.family;
    const target = routeInterface(planList, family, rt.gw ?? undefined, ctx.ifName) ?? requested();
    const gateway = rt.gw || target.ips.find((x) => x.family === family && x.gateway)?.gateway;
    const route: Route = { dst: rt.dst, family };
    if (gateway && !isHostRouteTo(rt.dst, gateway)) route.gateway = gateway;
    target.routes.push(route);
  });
  for (const p of planList) p.routes = onLinkFirst(p.routes);
  return { cniVersion: r.cniVersion, interfaces: planList, dns, notes };
}

const cloneDns = (d: Dns): Dns => ({ ...d, nameservers: [...d.nameservers], search: [...d.search], options: [...d.options] });

/** Which plan interface a result-level route belongs to. */
function routeInterface(plans: InterfacePlan[], family: IpFamily, gw: string | undefined, ifName: string): InterfacePlan | undefined {
  const hasFamily = (p: InterfacePlan): boolean => p.ips.some((x) => x.family === family);
  if (gw) {
    const bySubnet = plans.find((p) => p.ips.some((x) => inSubnet(gw, x.address, x.prefixLength) || (x.gateway && sameIp(x.gateway, gw))));
    if (bySubnet) return bySubnet;
  }
  const req = plans.find((p) => p.name === ifName);
  if (req && hasFamily(req)) return req;
  return plans.find(hasFamily) ?? req ?? plans[0];
}

/** Stable reorder: on-link host routes to a gateway used by another route go first. */
export function onLinkFirst(routes: Route[]): Route[] {
  const gateways = routes.filter((r) => r.gateway).map((r) => r.gateway!);
  const isGwHostRoute = (r: Route): boolean => !r.gateway && gateways.some((g) => isHostRouteTo(r.dst, g));
  return [...routes.filter(isGwHostRoute), ...routes.filter((r) => !isGwHostRoute(r))];
}
