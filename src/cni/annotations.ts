// Pod annotations that pick networks:
//  - CNI-Genie `cni: "netA,netB"`: replaces the default network list.
//  - Multus `k8s.v1.cni.cncf.io/networks`: extra networks after the default(s),
//    as "name", "ns/name", "name@if", "ns/name@if" items or a JSON array of objects.
import { z } from 'zod';
import { familyOf, normaliseMac, parseCidr } from '../model/ip.js';
import { CniAnnotationError } from './errors.js';
import { isValidNetworkName } from './config.js';
import { describeValue, formatPath } from './json-path.js';

export const GENIE_ANNOTATION = 'cni';
export const MULTUS_ANNOTATION = 'k8s.v1.cni.cncf.io/networks';

/** One network a pod asks for. */
export interface NetworkSelection {
  /** The CNI network (config list `name`). */
  name: string;
  /** Multus namespace; kept for the record, networks are resolved by name in the conf dir. */
  namespace?: string;
  /** Requested interface name inside the pod; default eth0, eth1, ... in order. */
  interface?: string;
  /** Requested MAC (sent as runtimeConfig.mac to plugins declaring the `mac` capability). */
  mac?: string;
  /** Requested addresses in CIDR form (runtimeConfig.ips). */
  ips?: string[];
  /** Multus `default-route`: gateways this network's default route should use; marks the network as the default-route owner. */
  defaultRoute?: string[];
}

const IFNAME_RE = /^[^/:\s]{1,15}$/;
const NS_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** CNI-Genie: comma-separated network names. */
export function parseGenieAnnotation(value: string): NetworkSelection[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new CniAnnotationError(GENIE_ANNOTATION, `expected a comma list of network names, found ${describeValue(value)}`);
  return names.map((name) => {
    if (!isValidNetworkName(name)) throw new CniAnnotationError(GENIE_ANNOTATION, `network name ${JSON.stringify(name)} is invalid: use letters, digits, _ . -`);
    return { name };
  });
}

const multusObject = z.object({
  name: z.string().refine(isValidNetworkName, 'expected a network name of letters, digits, _ . -'),
  namespace: z.string().regex(NS_RE, 'expected a Kubernetes namespace name').optional(),
  interface: z.string().regex(IFNAME_RE, 'expected an interface name of 1-15 characters without / : or spaces').optional(),
  mac: z.string().refine((m) => normaliseMac(m) !== undefined, 'expected a MAC address like 02:00:00:00:00:01').optional(),
  ips: z.array(z.string().refine((c) => parseCidr(c) !== undefined, 'expected an address in CIDR form')).optional(),
  'default-route': z.array(z.string().refine((g) => familyOf(g) !== undefined, 'expected a gateway IP address')).optional(),
});

/** Multus: JSON array of objects, or comma list of [namespace/]name[@ifname]. */
export function parseMultusAnnotation(value: string): NetworkSelection[] {
  const text = value.trim();
  if (text === '') return [];
  if (text.startsWith('[') || text.startsWith('{')) return parseMultusJson(text);
  return text.split(',').map((s) => s.trim()).filter(Boolean).map((item) => {
    const m = /^(?:([^/@]+)\/)?([^/@]+)(?:@([^/@]+))?$/.exec(item);
    const bad = (why: string): never => {
      throw new CniAnnotationError(MULTUS_ANNOTATION, `item ${JSON.stringify(item)}: ${why}; expected name, namespace/name, name@ifname or namespace/name@ifname`);
    };
    if (!m) return bad('cannot parse it');
    const [, ns, name, ifName] = m;
    if (!isValidNetworkName(name!)) bad(`network name ${JSON.stringify(name)} is invalid`);
    if (ns !== undefined && !NS_RE.test(ns)) bad(`namespace ${JSON.stringify(ns)} is invalid`);
    if (ifName !== undefined && !IFNAME_RE.test(ifName)) bad(`interface name ${JSON.stringify(ifName)} is invalid`);
    return { name: name!, ...(ns ? { namespace: ns } : {}), ...(ifName ? { interface: ifName } : {}) };
  });
}

function parseMultusJson(text: string): NetworkSelection[] {
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (e) {
    throw new CniAnnotationError(MULTUS_ANNOTATION, `is not valid JSON: ${(e as Error).message}`);
  }
  const parsed = z.array(multusObject).safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CniAnnotationError(MULTUS_ANNOTATION, `invalid at ${formatPath(issue?.path ?? [])}: ${issue?.message ?? 'invalid'}`, {
      path: formatPath(issue?.path ?? []),
    });
  }
  return parsed.data.map((o) => ({
    name: o.name,
    ...(o.namespace ? { namespace: o.namespace } : {}),
    ...(o.interface ? { interface: o.interface } : {}),
    ...(o.mac ? { mac: normaliseMac(o.mac)! } : {}),
    ...(o.ips ? { ips: o.ips } : {}),
    ...(o['default-route'] ? { defaultRoute: o['default-route'] } : {}),
  }));
}

export interface PlannedAttachment extends NetworkSelection {
  ifName: string;
}

/**
 * The pod's networks in attach order: Genie's list (or the defaults), then Multus'.
 * Interfaces are eth0, eth1, ... unless named; a name used twice is an error.
 */
export function selectNetworks(annotations: Record<string, string | undefined>, defaultNetworks: readonly string[]): PlannedAttachment[] {
  const genie = annotations[GENIE_ANNOTATION];
  const base: NetworkSelection[] = genie !== undefined ? parseGenieAnnotation(genie) : defaultNetworks.map((name) => ({ name }));
  const multus = annotations[MULTUS_ANNOTATION];
  const all = [...base, ...(multus !== undefined ? parseMultusAnnotation(multus) : [])];
  if (all.length === 0) {
    throw new CniAnnotationError(GENIE_ANNOTATION, 'no network selected: no cni annotation, no default network and no Multus networks');
  }
  const explicit = all.filter((s) => s.interface).map((s) => s.interface!);
  const dup = explicit.find((n, i) => explicit.indexOf(n) !== i);
  if (dup) throw new CniAnnotationError(MULTUS_ANNOTATION, `interface name ${dup} is requested twice`);
  const used = new Set(explicit);
  let next = 0;
  return all.map((s) => {
    if (s.interface) return { ...s, ifName: s.interface };
    while (used.has(`eth${next}`)) next++;
    const ifName = `eth${next++}`;
    used.add(ifName);
    return { ...s, ifName };
  });
}
