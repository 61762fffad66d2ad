// Hot-plug effects of one Pod: resolve an interface to attach (CNI ADD of a network, or the
// caller's result for it) into a plan entry and a child spec, and release one (CNI DEL
// when netlet ran the ADD). The supervisor decides when; these only do.
import type { Logger } from 'pino';
import { addAttachment, applyDefaultRoutePolicy, delAttachment, normaliseCniResult } from '../cni/index.js';
import { NetletError } from '../model/errors.js';
import type { InterfacePlan } from '../model/plan.js';
import type { AttachRequest, ChildSpec, ResolvedPod } from '../machines/pod-supervisor.js';
import type { Rtnl } from '../io/rtnl.js';
import { interfaceKind } from './interface-kind.js';
import { cniExecOptions, type ResolvedOptions } from './options.js';

export interface AttachEnv {
  podId: string;
  podName?: string;
  podNamespace?: string;
  netnsPath: string;
  opts: ResolvedOptions;
  log: Logger;
  rtnl(): Rtnl;
  resolved: ResolvedPod;
  /** The child spec of a plan interface (veth: `index` picks its bridge address). */
  childFor(iface: InterfacePlan, kind: 'veth' | 'sriov', index: number): ChildSpec;
}

/** The first veth index whose bridge address no veth of the pod uses. */
function freeIndex(resolved: ResolvedPod, addressOf: (i: number) => string): number {
  const used = new Set(resolved.children.map((c) => (c.input as { settings?: { bridgeAddress?: string } }).settings?.bridgeAddress));
  let i = 0;
  while (used.has(addressOf(i))) i++;
  return i;
}

/** One interface for a ready pod: CNI ADD (undone on any later failure here) or the given result. */
export async function resolveAttachment(env: AttachEnv, req: AttachRequest, addressOf: (i: number) => string): Promise<{ iface: InterfacePlan; child: ChildSpec }> {
  const { opts, log } = env;
  const rt = env.rtnl();
  let ifaces: InterfacePlan[];
  let cniAdded = false;
  const network = req.network ?? req.ifName;
  if (req.cniResult !== undefined) {
    ifaces = normaliseCniResult(req.cniResult, { network, ifName: req.ifName }).interfaces;
  } else {
    if (!opts.cni.confDir) throw new NetletError('CNI_NOT_CONFIGURED', `pod ${env.podId}: attach of ${req.ifName} names network ${network} but no cni.confDir is configured; pass a cniResult instead`);
    // CNI would fail on (or worse, take over) a link of that name.
    if (await rt.link(req.ifName)) throw new NetletError('IFNAME_IN_USE', `pod ${env.podId}: the pod netns already has a link named ${req.ifName}; pick another ifName`, { ifName: req.ifName });
    const added = await addAttachment({
      podId: env.podId, ...(env.podName ? { podName: env.podName } : {}), ...(env.podNamespace ? { podNamespace: env.podNamespace } : {}),
      netnsPath: env.netnsPath, network, ifName: req.ifName, confDir: opts.cni.confDir,
      index: env.resolved.children.length, ...cniExecOptions(opts), logger: log,
    });
    ifaces = added.interfaces;
    cniAdded = true;
  }
  try {
    const found = ifaces.find((i) => i.name === req.ifName);
    if (!found) {
      throw new NetletError('INTERFACE_NOT_IN_RESULT', `pod ${env.podId}: the CNI result for ${req.ifName} describes ${ifaces.map((i) => i.name).join(', ') || 'no pod interface'}, not ${req.ifName}`, { ifName: req.ifName });
    }
    // The pod's interfaces keep what they have: the new one gets a default route only when marked and free.
    const existing = env.resolved.plan.interfaces.map((i) => ({ network: i.network, ifName: i.name, interfaces: [i] }));
    const policy = applyDefaultRoutePolicy([...existing, { network, ifName: req.ifName, ...(req.defaultRoute ? { defaultRoute: req.defaultRoute } : {}), interfaces: [found] }]);
    const taken = policy.dropped.filter((d) => d.interface !== req.ifName);
    if (taken.length) {
      throw new NetletError('DEFAULT_ROUTE_TAKEN', `pod ${env.podId}: ${req.ifName} is marked default-route but ${taken.map((d) => d.interface).join(', ')} already holds the IPv${taken[0]!.route.family} default route; detach it first or attach unmarked`);
    }
    for (const d of policy.dropped) log.info({ iface: req.ifName, ...d }, 'default route of an attached network dropped (not marked default-route)');
    const iface = policy.interfaces.at(-1)![0]!;
    const kind = await interfaceKind(rt, iface, opts.sysfsRoot);
    const child = env.childFor(iface, kind, freeIndex(env.resolved, addressOf));
    return { iface, child: { ...child, attachedAt: new Date().toISOString(), ...(cniAdded && !env.resolved.cniAdded ? { cniAdded: true } : {}) } };
  } catch (e) {
    if (cniAdded) await releaseAttachment(env, { ifName: req.ifName, network, cniAdded }).catch((de: Error) => log.warn({ iface: req.ifName, err: de.message }, 'CNI DEL after a failed attach failed'));
    throw e;
  }
}

/** CNI DEL of one interface, when netlet ran its ADD. */
export async function releaseAttachment(env: Pick<AttachEnv, 'podId' | 'netnsPath' | 'opts' | 'log'>, r: { ifName: string; network?: string; cniAdded: boolean }): Promise<void> {
  if (!r.cniAdded) return;
  await delAttachment({ podId: env.podId, ifName: r.ifName, netnsPath: env.netnsPath, ...(r.network ? { network: r.network } : {}), ...cniExecOptions(env.opts), logger: env.log });
}
